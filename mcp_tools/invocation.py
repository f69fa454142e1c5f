"""Running one tool call: tenant context, typed errors, audit and a log line.

Every tool goes through :func:`invoke` (the ``@tool`` decorator calls it), so they
all run in a tenant context of their own for the authenticated caller, answer errors
in the same ``{"err": ...}`` shape with a stable code, never with a stack trace, and
are audited with their outcome, row count and duration. A call that lost its
database connection runs again on a fresh one; when the database is down,
:class:`~retail.db_resilience.DatabaseDown` goes up to the endpoint, which answers 503.
A call whose audit row cannot be written is answered with an ``unavailable`` error
instead of its result. Errors carry no rows, so they are not fenced, except database
errors: PostgreSQL's messages can quote a value the query read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from mcp import types

from mcp_tools.caller import current_caller
from mcp_tools.formatting import error_payload
from mcp_tools.request_audit import UNRECORDED, caller_fields, is_registered
from mcp_tools.telemetry import observe_tool_call
from mcp_tools.untrusted import fence
from retail.db_resilience import DatabaseDown, in_tenant_context
from retail.errors import (
    ErrorCode,
    InternalFailure,
    NotAuthorized,
    ServiceUnavailable,
    ZavaError,
)
from retail.models import Outcome
from retail.services.audit import tool_call_record
from retail.tenancy import active_context

logger = logging.getLogger("zava.mcp")
T = TypeVar("T")

OUTCOMES = {
    ErrorCode.VALIDATION: Outcome.REFUSED,
    ErrorCode.AUTHORIZATION: Outcome.REFUSED,
    ErrorCode.TIMEOUT: Outcome.TIMEOUT,
}


@dataclass
class ToolAnswer:
    content: list[types.ContentBlock]
    rows: int | None = None
    structured: dict[str, Any] | None = field(default=None)


def text_answer(text: str, rows: int | None = None) -> ToolAnswer:
    return ToolAnswer(content=[types.TextContent(type="text", text=text)], rows=rows)


# The SQL fingerprint the guard computed for this call, for its log line and metrics.
_sql_fingerprint: ContextVar[str | None] = ContextVar("zava_sql_fingerprint", default=None)


def note_sql_fingerprint(fingerprint: str) -> None:
    """Tell telemetry the fingerprint of the SQL this call runs (the guard made it)."""
    _sql_fingerprint.set(fingerprint)


def invoke(
    tool: str,
    arguments: dict[str, Any],
    action: Callable[[], ToolAnswer],
    *,
    echo_query: str | None = None,
) -> types.CallToolResult:
    """Run ``action`` for the current caller and turn any failure into a tool error."""
    started = time.perf_counter()
    answer: ToolAnswer | None = None
    error: ZavaError | None = None
    _sql_fingerprint.set(None)
    try:
        answer = in_caller_context(action)
    except DatabaseDown:
        logger.warning("tool %s: the database is down", tool, extra={"tool": tool})
        raise
    except ZavaError as exc:
        error = exc
    except Exception:
        logger.exception("tool %s failed unexpectedly", tool)
        error = InternalFailure("The tool failed unexpectedly; the incident has been logged.")
    duration_ms = (time.perf_counter() - started) * 1000

    if error is None and answer is not None:
        result = types.CallToolResult(
            content=answer.content, structuredContent=answer.structured, isError=False
        )
        outcome, code, rows = Outcome.OK, "", answer.rows
    else:
        assert error is not None
        text = error_payload(error, query=echo_query)
        if error.code == ErrorCode.DATABASE:  # PostgreSQL quotes values: 'syntax for
            text = fence(text)  # type integer: "<a product description>"'
        result = types.CallToolResult(
            content=[types.TextContent(type="text", text=text)], isError=True
        )
        outcome, code, rows = OUTCOMES.get(error.code, Outcome.ERROR), str(error.code), None
    if not _record(tool, arguments, outcome, code, rows, duration_ms, error):
        return _unrecorded()
    return result


def in_caller_context(work: Callable[[], T]) -> T:
    """``work()`` in a tenant context of its own for the current caller (HTTP or stdio),
    run again on a fresh connection if the connection is lost.

    Inside a context that is already open (a service called from a test, say) it
    runs there.
    """
    if active_context() is not None:
        return work()
    caller = current_caller.get()
    if caller is None:
        raise NotAuthorized("No authenticated caller.")
    return in_tenant_context(caller.manager_id, work)


async def in_caller_context_from_sdk(work: Callable[[], T], *, failure: str) -> T:
    """``work()`` in the caller's tenant context, awaited from an SDK handler.

    FastMCP runs resource reads and completions on its event-loop thread, which under
    the endpoint's ``async_to_sync`` is another thread with another connection; this
    hops back with asgiref's thread-sensitive ``sync_to_async`` (over HTTP the request
    thread, like a tool; over stdio the command's thread). Typed errors go up as they
    are (``DatabaseDown``: the endpoint answers 503); anything else is logged and
    becomes ``failure``, never a stack trace.
    """

    def guarded() -> T:
        try:
            return in_caller_context(work)
        except ZavaError:
            raise
        except Exception:
            logger.exception("an SDK handler's read failed unexpectedly")
            raise InternalFailure(failure) from None

    return await sync_to_async(guarded, thread_sensitive=True)()


def _record(
    tool: str,
    arguments: dict[str, Any],
    outcome: str,
    code: str,
    rows: int | None,
    duration_ms: float,
    error: ZavaError | None,
) -> bool:
    """Audit and log the call; False when the audit row could not be written."""
    caller = current_caller.get()
    recorded = True
    try:
        tool_call_record(
            **caller_fields(),
            tool=tool,
            arguments=arguments,
            outcome=outcome,
            error_code=code,
            rows=rows,
            duration_ms=round(duration_ms, 2),
            registered=is_registered("tools/call", tool),
            sql_fingerprint=_sql_fingerprint.get(),
        )
    except Exception:  # no answer leaves without its record
        logger.exception("could not write the audit row for %s", tool)
        recorded = False
    observed = observe_tool_call(
        tool, arguments, outcome, rows, duration_ms, error, fingerprint=_sql_fingerprint.get()
    )
    logger.info(
        "tool call %s: %s",
        tool,
        outcome,
        extra={
            "tool": tool,
            "outcome": outcome,
            "error_code": code,
            "reason": error.reason if error else None,
            "rows": rows,
            "duration_ms": round(duration_ms, 2),
            "manager_id": str(caller.manager_id) if caller else None,
            "request_id": caller.request_id if caller else None,
            **observed,
        },
    )
    return recorded


def _unrecorded() -> types.CallToolResult:
    """The tool error that replaces an answer whose audit row could not be written."""
    text = error_payload(ServiceUnavailable(UNRECORDED))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)
