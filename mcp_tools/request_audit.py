"""Audit rows for MCP requests other than tool runs: resource reads, prompt requests,
requests refused before a handler (malformed parameters, no valid token).

Tool runs are recorded by :mod:`mcp_tools.invocation`; everything here goes through
the same writer, :func:`retail.services.audit.tool_call_record`. What a client
names (a tool, a resource URI, a prompt) is stored as the name only when the server
has registered it; anything else is ``(unknown)``, the raw text kept apart.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest

from mcp_tools import sdk_adapter
from mcp_tools.caller import current_caller
from retail.models import Outcome
from retail.services.audit import tool_call_record

logger = logging.getLogger("zava.mcp")

# Methods that read data or run something on the caller's behalf: one audit row each.
AUDITED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get", "completion/complete"})
UNRECORDED = "The request could not be recorded in the audit, so it was not answered; retry."
_PEEK_BYTES = 65_536


def subject(method: str, params: Any) -> tuple[str, dict[str, Any]]:
    """The name a request asks for (tool, resource URI or prompt) and its arguments."""
    params = params if isinstance(params, dict) else {}
    if method == "resources/read":  # a templated URI is named by its template
        uri = params.get("uri")
        text = str(uri) if uri is not None else ""
        return sdk_adapter.resource_template_of(text) or text, {"uri": uri}
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


def is_registered(method: str, name: str) -> bool:
    """Whether ``name`` is a tool, resource (or template), or prompt this server registered."""
    if method == "tools/call":
        return sdk_adapter.find_tool(name) is not None
    if method == "resources/read":
        return sdk_adapter.resource_exists(name)
    if method == "prompts/get":
        return sdk_adapter.prompt_exists(name)
    if method == "completion/complete":  # a prompt's name or a resource template's URI
        return (
            sdk_adapter.prompt_exists(name) or name in sdk_adapter.registered_resource_templates()
        )
    return False


def caller_fields() -> dict[str, Any]:
    """Who is asking, as the audit records it: from the token, never from the request."""
    caller = current_caller.get()
    if caller is None:
        return {"manager_id": None, "token_id": None, "request_id": "", "client_request_id": ""}
    return {
        "manager_id": caller.manager_id,
        "token_id": caller.token_id,
        "request_id": caller.request_id,
        "client_request_id": caller.client_request_id,
    }


def record(
    method: str,
    params: Any,
    outcome: str,
    error_code: str = "",
    *,
    duration_ms: float | None = None,
) -> bool:
    """One audit row for the current caller's request; False when it could not be written."""
    name, arguments = subject(method, params)
    try:
        tool_call_record(
            **caller_fields(),
            method=method,
            tool=name,
            registered=is_registered(method, name),
            arguments=arguments,
            outcome=outcome,
            error_code=error_code,
            duration_ms=round(duration_ms, 2) if duration_ms is not None else None,
        )
    except DatabaseError:
        logger.exception("could not write the audit row for %s", method)
        return False
    return True


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
        tool_call_record(
            manager_id=None,
            token_id=None,
            method=method if audited else "",
            tool=name,
            registered=not audited or is_registered(method, name),
            arguments={},  # an unauthenticated caller's arguments are not kept
            outcome=Outcome.UNAUTHORIZED,
            error_code="authorization_error",
            request_id=request_id,
            client_request_id=client_request_id,
        )
    except DatabaseError:
        logger.exception("could not write the audit row of a refused request")
