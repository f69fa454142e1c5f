"""Structured logging: JSON lines in production, readable lines in DEBUG, no secrets.

Our own small formatter rather than python-json-logger: we need control over exactly
which fields appear (extras yes, Django's request object no) and a redaction pass
over the finished line, which a library formatter would not give us without
subclassing it anyway; it is forty lines and adds no dependency.

Redaction is defence in depth. No code logs a token or an Authorization header on
purpose, but a token pasted into SQL, a request id or an exception message must
still never reach a log line, so the filter and both formatters rewrite anything
shaped like a Zava token or a bearer credential.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from infrastructure.credentials import TOKEN_PATTERN

# Any credential after "Bearer" (the metrics secret has no fixed shape); Zava access
# tokens are found anywhere by infrastructure.credentials.TOKEN_PATTERN.
BEARER_PATTERN = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
REDACTED_TOKEN = "zava_[REDACTED]"  # noqa: S105 - the replacement, not a secret

# The request being served on this thread, for log lines that do not pass it.
request_id_var: ContextVar[str | None] = ContextVar("zava_request_id", default=None)

# Attributes every LogRecord has; anything else on a record is an ``extra`` field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
}
# Extras we never print: Django's request object would drag headers along.
_DROPPED_FIELDS = frozenset({"request", "server_time"})


def redact(text: str) -> str:
    """``text`` with Zava tokens and bearer credentials replaced."""
    text = TOKEN_PATTERN.sub(REDACTED_TOKEN, text)
    return BEARER_PATTERN.sub(r"\1[REDACTED]", text)


def sql_digest(sql: str) -> str:
    """A stable short hash of SQL the parser never saw (empty, too long, NUL...)."""
    return hashlib.sha256(sql.encode("utf-8", "replace")).hexdigest()[:16]


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record, without empty ones."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_FIELDS
        and key not in _DROPPED_FIELDS
        and not key.startswith("_")
        and value is not None
    }


class RequestContextFilter(logging.Filter):
    """Stamps the current request id on records that do not carry one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            request_id = request_id_var.get()
            if request_id is not None:
                record.request_id = request_id
        return True


class RedactSecretsFilter(logging.Filter):
    """Rewrites message, string extras and traceback text without secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        for key, value in extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return str(value)[:500]


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, _jsonable(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
        return redact(line)


class TextFormatter(logging.Formatter):
    """The classic line for a terminal, followed by the extras as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{key}={value}" for key, value in extra_fields(record).items())
        if extras:
            head, newline, rest = line.partition("\n")
            line = f"{head} [{extras}]{newline}{rest}"
        return redact(line)
