"""Metrics and log fields of one tool call, from its :class:`~mcp_tools.pipeline.CallOutcome`.

SQL reaches the logs only as a pglast fingerprint (constants and whitespace do not
change it, so one query shape groups across managers) plus the start of the text.
The fingerprint is the SQL guard's (``CheckedQuery.fingerprint``, or
``QueryRejected.fingerprint`` for a query refused after it parsed), handed over by
the tool in its answer; nothing here parses SQL again. Text the parser never accepted (empty, too
long, NUL, syntax error) gets a SHA-256 prefix instead.

Slow calls (``ZAVA_SLOW_QUERY_MS``) get a WARNING with that fingerprint and the
duration. No EXPLAIN: it would plan the query a second time on the path that is
already slow, inside a tenant context that may be closing; for real plans, enable
PostgreSQL's auto_explain with the same threshold and join on the fingerprint.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from infrastructure.observability import metrics
from infrastructure.observability.logs import sql_digest
from mcp_tools.caller import Caller
from mcp_tools.sql_guard import QueryRejected
from retail.errors import ErrorCode

if TYPE_CHECKING:
    from mcp_tools.pipeline import CallOutcome

logger = logging.getLogger("zava.mcp.slow")

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


def observe_tool_call(caller: Caller, call: CallOutcome) -> dict[str, Any]:
    """Count and time the call, warn when slow; return extra fields for its log line.

    Never raises: telemetry must not turn an answer into a failure.
    """
    try:
        return _observe(caller, call)
    except Exception:
        logger.exception("could not record metrics for tool call %s", call.name[:100])
        return {}


def _observe(caller: Caller, call: CallOutcome) -> dict[str, Any]:
    label = call.name if call.registered else UNKNOWN_TOOL
    seconds = call.duration_ms / 1000
    outcome = str(call.outcome)
    metrics.TOOL_CALLS.labels(tool=label, outcome=outcome).inc()
    metrics.TOOL_LATENCY.labels(tool=label).observe(seconds)
    if isinstance(call.error, QueryRejected):
        metrics.GUARD_REFUSALS.labels(reason=str(call.error.reason)).inc()

    fields: dict[str, Any] = {}
    if call.sql_argument:
        fields = sql_log_fields(call.arguments.get(call.sql_argument), call.fingerprint)
        if call.error is None or call.error.code != ErrorCode.VALIDATION:
            metrics.QUERY_LATENCY.labels(outcome=outcome).observe(seconds)

    if call.duration_ms >= settings.ZAVA_SLOW_QUERY_MS:
        metrics.SLOW_QUERIES.labels(tool=label).inc()
        logger.warning(
            "slow tool call %s: %.0f ms",
            label,
            call.duration_ms,
            extra={
                "tool": label,
                "outcome": outcome,
                "rows": call.rows,
                "duration_ms": call.duration_ms,
                "threshold_ms": settings.ZAVA_SLOW_QUERY_MS,
                "manager_id": str(caller.manager_id),
                "request_id": caller.request_id,
                **fields,
            },
        )
    return fields
