"""Per-request identity and tenant context for the MCP endpoint.

Runs before the view, because the view's own (DRF-style) authentication would come
too late: once the bearer token has established who is asking, the whole request,
tool calls included, runs inside that manager's tenant context on the tenant
connection. Requests to other paths pass through untouched.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse

from mcp_tools import rate_limit
from mcp_tools.auth import authenticate, origin_allowed, rate_limit_key, unauthorized
from mcp_tools.caller import Caller, current_caller
from mcp_tools.protected_resource import insufficient_scope
from retail.db_resilience import retry_on_connection_loss, take_connection_lost
from retail.models import Outcome
from retail.services.audit import tool_call_record
from retail.services.oauth_access import InsufficientScope
from retail.tenancy import tenant_context

logger = logging.getLogger("zava.mcp")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class McpTenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != settings.ZAVA_MCP_PATH:
            return self.get_response(request)
        if not origin_allowed(request):
            return HttpResponse("Origin not allowed", status=403, content_type="text/plain")
        if request.method != "POST":
            return self.get_response(request)  # the view answers 405; nothing runs

        request_id = _request_id(request)
        try:
            token = retry_on_connection_loss(lambda: authenticate(request))
        except InsufficientScope:
            return insufficient_scope(request)
        except DatabaseError:
            return database_unavailable()
        if token is None:
            verdict = rate_limit.check_failed_auth(request)
            if not verdict.allowed:
                return rate_limit.too_many_requests(verdict)
            _audit_rejected(request, request_id)
            return unauthorized(request)
        verdict = rate_limit.check_token(rate_limit_key(token))
        if not verdict.allowed:
            return rate_limit.too_many_requests(verdict)

        caller = Caller(manager_id=token.manager_id, token_id=token.token_id, request_id=request_id)
        request.zava_caller = caller
        reset = current_caller.set(caller)

        def serve() -> HttpResponse:
            with tenant_context(token.manager_id):
                return self.get_response(request)

        try:
            # Every MCP request only reads, so a request that lost its connection
            # can safely run again on a fresh one.
            response = retry_on_connection_loss(serve, lost=lambda _: take_connection_lost())
        except DatabaseError:
            return database_unavailable()
        finally:
            current_caller.reset(reset)
        response["X-Request-ID"] = request_id
        return response


def database_unavailable() -> HttpResponse:
    """503 with a JSON-RPC error body: the database is down; try again shortly."""
    body = (
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32000,'
        b'"message":"The database is unavailable right now; retry shortly."}}'
    )
    response = HttpResponse(body, status=503, content_type="application/json")
    response["Retry-After"] = "5"
    return response


def _request_id(request: HttpRequest) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if REQUEST_ID.match(given) else uuid.uuid4().hex


def _audit_rejected(request: HttpRequest, request_id: str) -> None:
    """Record a refused request, naming the tool when the body says which."""
    tool = ""
    try:
        message = json.loads(request.body[:65_536])
        if isinstance(message, dict) and message.get("method") == "tools/call":
            tool = str((message.get("params") or {}).get("name", ""))[:100]
    except (ValueError, AttributeError, UnicodeDecodeError, RequestDataTooBig):
        pass
    tool_call_record(
        manager_id=None,
        token_id=None,
        tool=tool or "(unauthenticated)",
        arguments={},
        outcome=Outcome.UNAUTHORIZED,
        error_code="authorization_error",
        request_id=request_id,
    )
    logger.info("mcp request refused: invalid or missing token", extra={"request_id": request_id})
