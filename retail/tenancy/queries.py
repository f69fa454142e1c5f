"""Tenant SQL: the one path by which tools, resources and services read tenant data.

:func:`tenant_cursor` is the only way in: a psycopg cursor on the connection of the
open tenant context (so row-level security decides every row), and the only place
that turns a psycopg failure into a typed, client-safe error. A failure that means
"the connection is gone" comes back as :class:`ConnectionLost`, which tells
:func:`retail.tenancy.run_as_tenant` that the read may run again on a fresh
connection; no flag is left on the connection for anyone to read later.

:func:`run_select` runs one model-written SELECT that the SQL guard accepted; this
layer does not rely on the guard. It uses PostgreSQL's extended protocol (pipeline
mode), which accepts exactly one statement, wraps it in a row limit so that
PostgreSQL never produces more than the cap, and stops collecting at a byte budget.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors as pg_errors
from psycopg.rows import RowFactory
from psycopg.types.json import JsonbLoader

from retail.errors import (
    DatabaseFailure,
    NotAuthorized,
    QueryTimeout,
    ServiceUnavailable,
    ZavaError,
)
from retail.tenancy.transaction import require_context

# SQLSTATE classes that mean "the server is unavailable", not "the query is wrong":
# connection exceptions, insufficient resources, system errors.
UNAVAILABLE_CLASSES = {"08", "53", "58"}

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class ConnectionLost(ServiceUnavailable):
    """The tenant connection broke (server restart, network): a read may run again."""


@contextmanager
def tenant_cursor(row_factory: RowFactory[Any] | None = None) -> Iterator[psycopg.Cursor[Any]]:
    """A cursor on the open tenant context's connection; failures leave it typed.

    Every statement run through it is the tenant's: the role, identity and timeouts
    of the open context apply. Outside :func:`retail.tenancy.run_as_tenant` it refuses.
    """
    raw = require_context().connection.connection
    try:
        with raw.cursor(row_factory=row_factory) as cursor:
            yield cursor
    except psycopg.Error as exc:
        raise database_error(exc) from exc


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[JsonValue]]
    truncated: bool = False
    truncated_by: str | None = None  # "rows" or "bytes"
    from_cache: bool = False  # served from the answer cache, not from the database


def run_select(sql: str, *, max_rows: int, max_bytes: int) -> QueryResult:
    """Run ``sql`` as the tenant and return at most ``max_rows`` rows / ``max_bytes``."""
    statement = sql.strip().rstrip(";").strip()
    # A fixed shell around the checked text: the limit reaches the planner, and the
    # extended protocol refuses anything but one statement inside it.
    wrapped = f"SELECT * FROM (\n{statement}\n) AS zava_result LIMIT {max_rows + 1}"
    with tenant_cursor() as cursor:
        # Django loads jsonb as text for its own fields; tool results want values.
        cursor.adapters.register_loader("jsonb", JsonbLoader)
        with cursor.connection.pipeline():
            cursor.execute(wrapped)
        columns = [column.name for column in cursor.description or ()]
        fetched = cursor.fetchall()
    return _collect(columns, fetched, max_rows=max_rows, max_bytes=max_bytes)


def _collect(
    columns: list[str], fetched: list[tuple], *, max_rows: int, max_bytes: int
) -> QueryResult:
    rows: list[list[JsonValue]] = []
    size = len(json.dumps(columns))
    for record in fetched[:max_rows]:
        row = [to_json_value(value) for value in record]
        size += len(json.dumps(row, separators=(",", ":"), ensure_ascii=False)) + 1
        if size > max_bytes:
            return QueryResult(columns, rows, truncated=True, truncated_by="bytes")
        rows.append(row)
    if len(fetched) > max_rows:
        return QueryResult(columns, rows, truncated=True, truncated_by="rows")
    return QueryResult(columns, rows)


def to_json_value(value: Any) -> JsonValue:
    """Any value psycopg can return, as plain JSON."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        return (
            int(value)
            if value == value.to_integral_value() and abs(value) < 2**53
            else float(value)
        )
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return _interval(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    return str(value)  # ranges, network types, vectors as text, and anything new


def _interval(value: timedelta) -> str:
    """An interval as PostgreSQL would print it, e.g. '3 days 04:05:06'."""
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    if value.microseconds:
        clock += f".{value.microseconds:06d}".rstrip("0")
    return f"{days} days {clock}" if days else clock


def database_error(exc: psycopg.Error) -> ZavaError:
    """A typed error whose message is safe for the client: PostgreSQL's primary
    message and hint only, never detail, context, connection data or a stack.

    A connection that is gone (or a server that is shutting down or out of
    resources) is :class:`ConnectionLost`: the read may run again on a new one."""
    if isinstance(exc, pg_errors.QueryCanceled):
        return QueryTimeout("The query took too long and was cancelled. Narrow it down.")
    if isinstance(exc, pg_errors.InsufficientPrivilege | pg_errors.ReadOnlySqlTransaction):
        return NotAuthorized(
            "The query needs access this tool does not have: read-only SELECT only."
        )
    diag = exc.diag
    sqlstate = diag.sqlstate
    if sqlstate is None or sqlstate[:2] in UNAVAILABLE_CLASSES or sqlstate.startswith("57P"):
        return ConnectionLost("The database is not reachable right now. Try again shortly.")
    message = diag.message_primary or "The query failed."
    if diag.message_hint:
        message += f" Hint: {diag.message_hint}"
    return DatabaseFailure(message, reason=sqlstate)
