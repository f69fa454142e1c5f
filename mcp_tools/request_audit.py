"""The audit of MCP requests: one row per request that reads data or runs something.

:func:`write` records a request the pipeline ran (tool calls, resource reads, prompt
requests, completions) from its :class:`~mcp_tools.pipeline.CallOutcome`;
:func:`record_refused` one whose parameters did not parse; :func:`record_rejected` one
refused for want of a valid token. All go through the same writer,
:func:`retail.services.audit.record_request`. What a client names (a tool, a
resource URI, a prompt) is stored as the name only when the registry has it; anything
else is ``(unknown)``, the raw text kept apart.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest

from mcp_tools.caller import Caller
from mcp_tools.registry import registry
from retail.models import Outcome
from retail.services.audit import record_request

if TYPE_CHECKING:
    from mcp_tools.pipeline import CallOutcome

logger = logging.getLogger("zava.mcp")

# Methods that read data or run something on the caller's behalf: one audit row each.
AUDITED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get", "completion/complete"})
UNRECORDED = "The request could not be recorded in the audit, so it was not answered; retry."
_PEEK_BYTES = 65_536


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
    }


def write(caller: Caller, outcome: CallOutcome) -> bool:
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
    spec = registry().tools.get(name) if method == "tools/call" else None
    try:
        record_request(
            **_caller_fields(caller),
            method=method,
            tool=name,
            registered=registry().knows(method, name),
            arguments=arguments,
            outcome=Outcome.REFUSED,
            error_code="validation_error",
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
            error_code="authorization_error",
            request_id=request_id,
            client_request_id=client_request_id,
        )
    except DatabaseError:
        logger.exception("could not write the audit row of a refused request")
