"""Error reporting to Sentry, only when ``SENTRY_DSN`` is set, and never with SQL.

Model-written SQL carries literals (customer names, emails) and sometimes whatever a
user pasted, so it must not leave the server through the error tracker:
``before_send``, ``before_send_transaction`` and ``before_breadcrumb`` replace SQL
text, SQL parameters, frame variables and anything token-shaped. The SDK is also
told not to collect request bodies, local variables or personal data at all.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infrastructure.observability.logs import redact

FILTERED = "[Filtered]"
SQL_REMOVED = "[SQL removed]"
# Keys whose values are SQL text or SQL parameters, wherever they appear.
SQL_KEYS = frozenset(
    {"sql", "query", "postgresql_query", "params", "sql_params", "db.params", "db.statement"}
)
# PostgreSQL appends the statement to some messages ("LINE 1: SELECT ...").
_STATEMENT_CONTEXT = re.compile(r"\n(LINE \d+:|QUERY:|CONTEXT:|DETAIL:).*", re.DOTALL)
# ... and quotes the token it stumbled on, which may be a literal.
_NEAR_TOKEN = re.compile(r'(at or near )"[^"]*"?')
_DATABASE_MODULES = ("psycopg", "django.db")


def git_commit(base_dir: Path) -> str | None:
    """The checked-out commit, read from ``.git`` without running git.

    In a linked worktree ``.git`` is a file naming the worktree's own git directory,
    whose ``commondir`` holds the branches and packed refs."""
    git = base_dir / ".git"
    try:
        if git.is_file():
            git = Path(git.read_text().strip().removeprefix("gitdir:").strip())
        common = (
            git / (git / "commondir").read_text().strip() if (git / "commondir").exists() else git
        )
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head or None
        ref = head.removeprefix("ref: ")
        for ref_file in (git / ref, common / ref):
            if ref_file.exists():
                return ref_file.read_text().strip() or None
        for line in (common / "packed-refs").read_text().splitlines():
            sha, _, name = line.partition(" ")
            if name == ref:
                return sha
    except OSError:
        return None
    return None


def scrub(value: Any) -> Any:
    """``value`` with SQL-keyed entries filtered, frame variables dropped, tokens redacted."""
    if isinstance(value, dict):
        cleaned: dict[Any, Any] = {}
        for key, item in value.items():
            name = str(key).lower()
            if name in SQL_KEYS:
                cleaned[key] = FILTERED
            elif name == "vars":
                continue  # a frame's local variables: SQL, tokens, anything
            else:
                cleaned[key] = scrub(item)
        return cleaned
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


def _scrub_breadcrumb(crumb: dict[str, Any]) -> dict[str, Any]:
    crumb = scrub(crumb)
    if crumb.get("category") == "query" or str(crumb.get("type", "")) == "query":
        crumb["message"] = SQL_REMOVED
        crumb.pop("data", None)
    return crumb


def _scrub_exceptions(event: dict[str, Any]) -> None:
    for exception in (event.get("exception") or {}).get("values") or []:
        module = str(exception.get("module") or "")
        value = exception.get("value")
        if isinstance(value, str):
            value = _STATEMENT_CONTEXT.sub("", value)
            if module.startswith(_DATABASE_MODULES):
                value = _NEAR_TOKEN.sub(rf'\1"{FILTERED}"', value.split("\n", 1)[0])
            exception["value"] = value


def _scrub_spans(event: dict[str, Any]) -> None:
    for span in event.get("spans") or []:
        if str(span.get("op", "")).startswith("db"):
            span["description"] = SQL_REMOVED
            span.pop("data", None)


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """Strip SQL, SQL parameters, frame variables and tokens from an error event."""
    _scrub_exceptions(event)
    _scrub_spans(event)
    event = scrub(event)
    crumbs = event.get("breadcrumbs")
    if isinstance(crumbs, dict) and isinstance(crumbs.get("values"), list):
        crumbs["values"] = [_scrub_breadcrumb(crumb) for crumb in crumbs["values"]]
    elif isinstance(crumbs, list):
        event["breadcrumbs"] = [_scrub_breadcrumb(crumb) for crumb in crumbs]
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            for name in list(headers):
                if name.lower() in {"authorization", "cookie", "x-csrftoken"}:
                    headers[name] = FILTERED
    return event


def before_send_transaction(
    event: dict[str, Any], hint: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Performance events: the same scrubbing; database spans lose their SQL."""
    return before_send(event, hint)


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return _scrub_breadcrumb(crumb)


def sentry_options(
    *, dsn: str, release: str | None, environment: str, traces_sample_rate: float
) -> dict[str, Any]:
    """Everything ``sentry_sdk.init`` gets; a function so tests can read it."""
    from sentry_sdk.integrations.django import DjangoIntegration

    return {
        "dsn": dsn,
        "release": release,
        "environment": environment,
        "traces_sample_rate": traces_sample_rate,
        "send_default_pii": False,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "before_send": before_send,
        "before_send_transaction": before_send_transaction,
        "before_breadcrumb": before_breadcrumb,
        "integrations": [DjangoIntegration()],
    }


def init_sentry(
    *, dsn: str, release: str | None, environment: str, traces_sample_rate: float
) -> bool:
    """Start the Sentry SDK when a DSN is configured; return whether it started."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        **sentry_options(
            dsn=dsn,
            release=release,
            environment=environment,
            traces_sample_rate=traces_sample_rate,
        )
    )
    return True
