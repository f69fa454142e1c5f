"""Metrics and log fields of one tool call; called from ``invocation._record``.

SQL reaches the logs only as a pglast fingerprint (constants and whitespace do not
change it, so one query shape groups across managers) plus the start of the text.
The fingerprint is the SQL guard's (``CheckedQuery.fingerprint``, or
``QueryRejected.fingerprint`` for a query refused after it parsed), handed over by
the tool; nothing here parses SQL again. Text the parser never accepted (empty, too
long, NUL, syntax error) gets a SHA-256 prefix instead.

Slow calls (``ZAVA_SLOW_QUERY_MS``) get a WARNING with that fingerprint and the
duration. No EXPLAIN: it would plan the query a second time on the path that is
already slow, inside a tenant context that may be closing; for real plans, enable
PostgreSQL's auto_explain with the same threshold and join on the fingerprint.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from mcp_tools import sdk_adapter
from mcp_tools.caller import current_caller
from mcp_tools.sql_guard import QueryRejected
from retail.errors import ErrorCode, ZavaError
from zava.observability import metrics
from zava.observability.logs import sql_digest

logger = logging.getLogger("zava.mcp.slow")

SQL_TOOL = "execute_sales_query"
SQL_ARGUMENT = "postgresql_query"
UNKNOWN_TOOL = "(unknown)"


def sql_log_fields(sql: Any, fingerprint: str | None = None) -> dict[str, Any]:
    """``sql_fingerprint`` (or ``sql_hash``) and ``sql``, the start of the text."""
    if not isinstance(sql, str):
        return {}
    text = sql.strip()
    fields: dict[str, Any] = {}
    if fingerprint:
        fields["sql_fingerprint"] = fingerprint
    else:
        fields["sql_hash"] = sql_digest(text)
    limit = settings.ZAVA_LOG_SQL_CHARS
    if limit > 0:
        fields["sql"] = text[:limit] + ("…" if len(text) > limit else "")
    return fields


def observe_tool_call(
    tool: str,
    arguments: dict[str, Any],
    outcome: str,
    rows: int | None,
    duration_ms: float,
    error: ZavaError | None,
    *,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """Count and time the call, warn when slow; return extra fields for its log line.

    ``fingerprint`` is the SQL guard's for the query the call ran, if it got that far.
    Never raises: telemetry must not turn an answer into a failure.
    """
    try:
        return _observe(tool, arguments, outcome, rows, duration_ms, error, fingerprint)
    except Exception:
        logger.exception("could not record metrics for tool call %s", tool[:100])
        return {}


def _observe(
    tool: str,
    arguments: dict[str, Any],
    outcome: str,
    rows: int | None,
    duration_ms: float,
    error: ZavaError | None,
    fingerprint: str | None,
) -> dict[str, Any]:
    label = tool if sdk_adapter.find_tool(tool) is not None else UNKNOWN_TOOL
    seconds = duration_ms / 1000
    metrics.TOOL_CALLS.labels(tool=label, outcome=str(outcome)).inc()
    metrics.TOOL_LATENCY.labels(tool=label).observe(seconds)
    if isinstance(error, QueryRejected):
        metrics.GUARD_REFUSALS.labels(reason=str(error.reason)).inc()

    fields: dict[str, Any] = {}
    if label == SQL_TOOL:
        if fingerprint is None and isinstance(error, QueryRejected):
            fingerprint = error.fingerprint
        fields = sql_log_fields(arguments.get(SQL_ARGUMENT), fingerprint)
        if error is None or error.code != ErrorCode.VALIDATION:
            metrics.QUERY_LATENCY.labels(outcome=str(outcome)).observe(seconds)

    if duration_ms >= settings.ZAVA_SLOW_QUERY_MS:
        metrics.SLOW_QUERIES.labels(tool=label).inc()
        caller = current_caller.get()
        logger.warning(
            "slow tool call %s: %.0f ms",
            label,
            duration_ms,
            extra={
                "tool": label,
                "outcome": str(outcome),
                "rows": rows,
                "duration_ms": round(duration_ms, 2),
                "threshold_ms": settings.ZAVA_SLOW_QUERY_MS,
                "manager_id": str(caller.manager_id) if caller else None,
                "request_id": caller.request_id if caller else None,
                **fields,
            },
        )
    return fields
