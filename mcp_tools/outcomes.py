"""What the server keeps of each MCP request: its audit row, its metrics, its log line.

The pipeline describes every request it ran in one :class:`CallOutcome`, and
:func:`record` writes all three from it. A request refused before the pipeline ran
is recorded too: :func:`record_refused` for parameters that did not parse,
:func:`record_rejected` for want of a valid token. Every row goes through the same
writer, :func:`retail.services.audit.record_request`. What a client names (a tool,
a resource URI, a prompt) is stored as the name only when the registry has it;
anything else is ``(unknown)``, the raw text kept apart. An answer whose audit row
cannot be written is not given; metrics and logs never fail a request.

SQL reaches the logs only as a pglast fingerprint (constants and whitespace do not
change it, so one query shape groups across managers) plus the start of the text.
The fingerprint is the SQL guard's (``CheckedQuery.fingerprint``, or
``QueryRejected.fingerprint`` for a query refused after it parsed), handed over by
the tool in its answer; nothing here parses SQL again. Text the parser never
accepted (empty, too long, NUL, syntax error) gets a SHA-256 prefix instead.

Slow calls (``ZAVA_SLOW_QUERY_MS``) get a WARNING with that fingerprint and the
duration. No EXPLAIN: it would plan the query a second time on the path that is
already slow, inside a tenant context that may be closing; for real plans, enable
PostgreSQL's auto_explain with the same threshold and join on the fingerprint.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest

from infrastructure.observability import metrics
from infrastructure.observability.logs import sql_digest
from mcp_tools.caller import Caller
from mcp_tools.registry import registry
from mcp_tools.sql_guard import QueryRejected
from retail.errors import ErrorCode, ZavaError
from retail.models import Outcome
from retail.services.audit import UNKNOWN_NAME, record_request

logger = logging.getLogger("zava.mcp")
slow_logger = logging.getLogger("zava.mcp.slow")

# Methods that read data or run something on the caller's behalf: one audit row each.
AUDITED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get", "completion/complete"})
UNRECORDED = "The request could not be recorded in the audit, so it was not answered; retry."
_PEEK_BYTES = 65_536

OUTCOMES = {
    ErrorCode.VALIDATION: Outcome.REFUSED,
    ErrorCode.AUTHORIZATION: Outcome.REFUSED,
    ErrorCode.TIMEOUT: Outcome.TIMEOUT,
}


@dataclass(frozen=True)
class CallOutcome:
    """What one request did, for its audit row, metrics and log line."""

    method: str
    name: str  # the tool, resource (its template, when templated) or prompt asked for
    registered: bool
    arguments: dict[str, Any]
    duration_ms: float
    error: ZavaError | None = None
    rows: int | None = None
    fingerprint: str | None = None
    cache_hit: bool | None = None
    sql_argument: str | None = None

    @property
    def outcome(self) -> str:
        if self.error is None:
            return Outcome.OK
        return OUTCOMES.get(self.error.code, Outcome.ERROR)

    @property
    def error_code(self) -> str:
        return "" if self.error is None else str(self.error.code)


def record(caller: Caller, outcome: CallOutcome) -> bool:
    """Audit the request (and, for a tool, count it and log it); False when the audit
    row could not be written."""
    recorded = _audit(caller, outcome)
    if outcome.method != "tools/call":
        return recorded
    observed = observe_tool_call(caller, outcome)
    logger.info(
        "tool call %s: %s",
        outcome.name,
        outcome.outcome,
        extra={
            "tool": outcome.name,
            "outcome": outcome.outcome,
            "error_code": outcome.error_code,
            "reason": outcome.error.reason if outcome.error else None,
            "rows": outcome.rows,
            "duration_ms": outcome.duration_ms,
            "cache_hit": outcome.cache_hit,
            "manager_id": str(caller.manager_id),
            "request_id": caller.request_id,
            **observed,
        },
    )
    return recorded


def subject(method: str, params: Any) -> tuple[str, dict[str, Any]]:
    """The name a request asks for (tool, resource URI or prompt) and its arguments,
    from parameters as the client sent them (for requests the pipeline never ran)."""
    params = params if isinstance(params, dict) else {}
    if method == "resources/read":  # a templated URI is named by its template
        uri = params.get("uri")
        text = str(uri) if uri is not None else ""
        found = registry().template_of(text)
        return (found[0].uri_template if found else text), {"uri": uri}
    if method == "completion/complete":
        ref = params.get("ref") if isinstance(params.get("ref"), dict) else {}
        name = ref.get("name") or ref.get("uri") or ""
        recorded = {"argument": params.get("argument")}
        if params.get("context") is not None:  # the other arguments' values, as sent
            recorded["context"] = params["context"]
        return str(name), recorded
    arguments = params.get("arguments")
    name = params.get("name")
    return (
        str(name) if name is not None else "",
        arguments if isinstance(arguments, dict) else {"arguments": arguments},
    )


def _caller_fields(caller: Caller) -> dict[str, Any]:
    """Who is asking, as the audit records it: from the token, never from the request."""
    return {
        "manager_id": caller.manager_id,
        "token_id": caller.token_id,
        "request_id": caller.request_id,
        "client_request_id": caller.client_request_id,
        "client": caller.client,
    }


def _audit(caller: Caller, outcome: CallOutcome) -> bool:
    """The audit row of a request the pipeline ran; False when it could not be written."""
    try:
        record_request(
            **_caller_fields(caller),
            method=outcome.method,
            tool=outcome.name,
            registered=outcome.registered,
            arguments=outcome.arguments,
            outcome=outcome.outcome,
            error_code=outcome.error_code,
            rows=outcome.rows,
            duration_ms=outcome.duration_ms,
            sql_argument=outcome.sql_argument,
            sql_fingerprint=outcome.fingerprint,
        )
    except Exception:  # no answer leaves without its record
        logger.exception("could not write the audit row for %s", outcome.method)
        return False
    return True


def record_refused(caller: Caller, method: str, params: Any) -> None:
    """A request whose parameters did not parse: refused before any handler ran."""
    name, arguments = subject(method, params)
    table = registry()
    spec = table.tools.get(name) if method == "tools/call" else None
    try:
        record_request(
            **_caller_fields(caller),
            method=method,
            tool=name,
            registered=table.knows(method, name),
            arguments=arguments,
            outcome=Outcome.REFUSED,
            error_code=ErrorCode.VALIDATION,
            sql_argument=spec.sql_argument if spec else None,
        )
    except DatabaseError:
        logger.exception("could not write the audit row for %s", method)


def record_rejected(request: HttpRequest, request_id: str, client_request_id: str) -> None:
    """A request refused for want of a valid token, with what its body asked for."""
    method, params = "", None
    try:
        message = json.loads(request.body[:_PEEK_BYTES])
        if isinstance(message, dict) and isinstance(message.get("method"), str):
            method, params = message["method"], message.get("params")
    except (ValueError, UnicodeDecodeError, RecursionError, RequestDataTooBig):
        pass
    audited = method in AUDITED_METHODS
    name = subject(method, params)[0] if audited else "(unauthenticated)"
    try:
        record_request(
            manager_id=None,
            token_id=None,
            method=method if audited else "",
            tool=name,
            registered=not audited or registry().knows(method, name),
            arguments={},  # an unauthenticated caller's arguments are not kept
            outcome=Outcome.UNAUTHORIZED,
            error_code=ErrorCode.AUTHORIZATION,
            request_id=request_id,
            client_request_id=client_request_id,
        )
    except DatabaseError:
        logger.exception("could not write the audit row of a refused request")


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
        slow_logger.exception("could not record metrics for tool call %s", call.name[:100])
        return {}


def _observe(caller: Caller, call: CallOutcome) -> dict[str, Any]:
    label = call.name if call.registered else UNKNOWN_NAME  # the audit's label too
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
        slow_logger.warning(
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
