"""Writing the audit of MCP requests: tool calls, resource reads, prompt requests.

One INSERT per request on the owner connection, committed asynchronously
(``synchronous_commit`` off for that transaction only): an audit row costs no disk
flush on the request path, and a crash can lose at most the last few rows.

Recording must not fail on what a client sent, so arguments are made storable first
(jsonb refuses NUL, lone UTF-16 surrogates and NaN) and the row says when they were.
The SQL of a query is kept whole (up to the tool's own 20,000 characters) with its
SHA-256 and its normalised fingerprint, so no padding can hide the statement that
ran. A name the client chose that matches nothing registered is stored as
``(unknown)``, the raw text apart in ``unverified_name``. Callers must treat a
failure to record as a failure of the request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections
from pglast.parser import ParseError, fingerprint

MAX_ARGUMENT_CHARS = 20_000  # execute_sales_query's own limit: its SQL is kept whole
MAX_NAME_CHARS = 100
MAX_UNVERIFIED_CHARS = 200
MAX_KEY_CHARS = 100
UNKNOWN_NAME = "(unknown)"
TOOL_CALL = "tools/call"

_SURROGATE = re.compile("[\ud800-\udfff]")

_INSERT = """
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO audit_requests
    (manager_id, token_id, method, tool, unverified_name, arguments, sanitised,
     query_sha256, query_fingerprint, outcome, error_code, rows, duration_ms,
     request_id, client_request_id, client, created_at)
SELECT %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now()
  FROM async_commit
"""


@dataclass
class _Cleaning:
    """Whether anything had to be escaped, replaced or cut to store the arguments."""

    changed: bool = False


def record_request(
    *,
    manager_id: UUID | None,
    token_id: int | None,
    tool: str,
    arguments: dict[str, Any],
    outcome: str,
    error_code: str = "",
    rows: int | None = None,
    duration_ms: float | None = None,
    request_id: str = "",
    client_request_id: str = "",
    client: str = "",
    method: str = TOOL_CALL,
    registered: bool = True,
    sql_argument: str | None = None,
    sql_fingerprint: str | None = None,
) -> None:
    """Insert one audit row; raises when the database refuses it.

    ``registered`` says whether ``tool`` is a name the server knows (a tool, resource
    or prompt); otherwise the row names ``(unknown)`` and keeps the text apart.
    ``sql_argument`` names the argument that carries SQL (the tool's spec says which);
    ``sql_fingerprint`` is the SQL guard's, when it parsed the query already.
    """
    cleaning = _Cleaning()
    name = storable_text(tool, cleaning)
    unverified = ""
    if not registered:
        name, unverified = UNKNOWN_NAME, _cut(name, MAX_UNVERIFIED_CHARS)
    stored = _storable_arguments(arguments, cleaning)
    sql = arguments.get(sql_argument) if sql_argument and isinstance(arguments, dict) else None
    sha256, computed = query_digests(sql, sql_fingerprint) if isinstance(sql, str) else ("", "")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                manager_id,
                token_id,
                storable_text(method, cleaning)[:40],
                _cut(name, MAX_NAME_CHARS),
                unverified,
                json.dumps(stored, default=str),
                cleaning.changed,
                sha256,
                computed,
                outcome,
                error_code[:40],
                rows,
                duration_ms,
                request_id[:64],
                storable_text(client_request_id, cleaning)[:64],
                storable_text(client, cleaning)[:200],
            ],
        )


# Distinct values of an indexed audit column by walking its index, one probe per value
# (a "loose index scan"): the admin's filters stay quick at tens of millions of rows,
# where SELECT DISTINCT would read them all.
_DISTINCT_SQL = """
WITH RECURSIVE seen AS (
    SELECT min({column}) AS value FROM audit_requests
    UNION ALL
    SELECT (SELECT min({column}) FROM audit_requests WHERE {column} > seen.value)
      FROM seen WHERE seen.value IS NOT NULL
)
SELECT value FROM seen WHERE value IS NOT NULL
"""
INDEXED_TEXT_COLUMNS = frozenset({"method", "tool"})


def audited_values(column: str) -> list[str]:
    """The distinct values of ``column`` (``method`` or ``tool``) in the audit, in order."""
    if column not in INDEXED_TEXT_COLUMNS:
        raise ValueError(f"{column!r} is not an indexed text column of the audit")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_DISTINCT_SQL.format(column=column))
        return [value for (value,) in cursor.fetchall()]


def query_digests(sql: str, known_fingerprint: str | None = None) -> tuple[str, str]:
    """SHA-256 of the query as sent, and the SQL guard's normalised fingerprint.

    The hash covers the exact text (lone surrogates encoded as themselves); the
    fingerprint ignores comments, whitespace and constants, and is empty when the
    text does not parse. ``known_fingerprint`` saves parsing the text again.
    """
    sha256 = hashlib.sha256(sql.encode("utf-8", "surrogatepass")).hexdigest()
    if known_fingerprint is not None:
        return sha256, known_fingerprint
    text = sql.strip()
    sql_fingerprint = ""
    if text and "\x00" not in text and not _SURROGATE.search(text):
        with contextlib.suppress(ParseError, UnicodeError, ValueError):
            sql_fingerprint = fingerprint(text)
    return sha256, sql_fingerprint


def storable_text(text: str, cleaning: _Cleaning | None = None) -> str:
    """``text`` as PostgreSQL stores it: NUL as ``\\0``, lone surrogates as ``\\udXXX``."""
    if "\x00" not in text and not _SURROGATE.search(text):
        return text
    if cleaning is not None:
        cleaning.changed = True
    text = text.replace("\x00", "\\0")
    return _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _storable_arguments(arguments: Any, cleaning: _Cleaning) -> Any:
    if not isinstance(arguments, dict):
        cleaning.changed = True
        return {"arguments": _storable(arguments, cleaning)}
    return {
        _cut(storable_text(str(key), cleaning), MAX_KEY_CHARS, cleaning): _storable(value, cleaning)
        for key, value in arguments.items()
    }


def _storable(value: Any, cleaning: _Cleaning) -> Any:
    if isinstance(value, str):
        return _cut(storable_text(value, cleaning), MAX_ARGUMENT_CHARS, cleaning)
    if isinstance(value, float) and not math.isfinite(value):
        cleaning.changed = True
        return str(value)  # jsonb has no NaN or Infinity
    if isinstance(value, list | tuple):
        return [_storable(item, cleaning) for item in value]
    if isinstance(value, dict):
        return _storable_arguments(value, cleaning)
    if value is None or isinstance(value, bool | int | float):
        return value
    cleaning.changed = True
    return storable_text(str(value), cleaning)


def _cut(text: str, limit: int, cleaning: _Cleaning | None = None) -> str:
    if len(text) <= limit:
        return text
    if cleaning is not None:
        cleaning.changed = True
    return text[: limit - 1] + "…"
