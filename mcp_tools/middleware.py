"""Authentication for the MCP endpoint: Origin check, bearer token, rate limit.

Every failure looks the same to the client (401, ``WWW-Authenticate``, one fixed
JSON-RPC error): a missing, malformed, unknown, expired or revoked token cannot be
told apart. Only a valid OAuth token without the tools' scope gets 403
(``insufficient_scope``). The reference's ``x-rls-user-id`` header is ignored: it
grants nothing.

The middleware runs before the view for every POST to the endpoint, because the view's own
(DRF-style) authentication would come too late. It puts the caller the token names
on the request as ``request.zava_caller`` (as Django's own middleware puts
``request.user``), and opens no transaction: only the work that reads tenant data
opens a tenant context for that caller, in :mod:`mcp_tools.pipeline`. Requests to
other paths pass through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from mcp import types

from infrastructure.credentials import TOKEN_PREFIX, bearer_credential
from infrastructure.observability.middleware import identified
from mcp_tools.caller import Caller, authenticated
from mcp_tools.jsonrpc import SERVER_ERROR, database_down_reply, error_response, respond
from mcp_tools.outcomes import record_rejected
from mcp_tools.protected_resource import SCOPE, challenge, insufficient_scope, resource_url
from retail import rate_limits
from retail.services.oauth_access import InsufficientScope, OAuthCredential, oauth_authenticate
from retail.services.tokens import Credential, token_authenticate_and_count
from retail.tenancy import DatabaseDown, retry_on_connection_loss

logger = logging.getLogger("zava.mcp")

UNAUTHORIZED = "Unauthorized: send a valid bearer token (see WWW-Authenticate)."


class McpAuthMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != settings.ZAVA_MCP_PATH:
            return self.get_response(request)
        if not origin_allowed(request):
            return error_response(None, SERVER_ERROR, "Origin not allowed.", status=403)
        if request.method != "POST":
            return self.get_response(request)  # the view answers 405; nothing runs

        ids = identified(request)  # RequestLogMiddleware, outermost, gave it its ids
        request_id, client_request_id = ids.zava_request_id, ids.zava_client_request_id
        try:
            token, verdict = retry_on_connection_loss(lambda: authenticate(request))
        except InsufficientScope:
            return insufficient_scope(request)
        except (DatabaseError, DatabaseDown):
            return respond(database_down_reply())
        if token is None:
            verdict = rate_limits.check_failed_auth(client_address(request))
            if not verdict.allowed:
                return _too_many_requests(verdict)
            _audit_rejected(request, request_id, client_request_id)
            return unauthorized(request)
        if verdict is None:
            verdict = rate_limits.check_token(rate_limit_key(token))
        if not verdict.allowed:
            return _too_many_requests(verdict)

        caller = Caller(
            manager_id=token.manager_id,
            token_id=token.token_id,
            request_id=request_id,
            client_request_id=client_request_id,
        )
        authenticated(request).zava_caller = caller
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Anything the endpoint did not expect: logged, and a JSON-RPC 500, not HTML.

        (A lost database never gets here: the endpoint answers it with a 503.)"""
        if request.path_info != settings.ZAVA_MCP_PATH:
            return None
        logger.error("the MCP endpoint failed unexpectedly", exc_info=exception)
        message = "Internal error; the incident has been logged."
        return error_response(None, types.INTERNAL_ERROR, message, status=500)


def _too_many_requests(verdict: rate_limits.Verdict) -> HttpResponse:
    """429 with ``Retry-After`` and a JSON-RPC error body."""
    message = f"Too many requests; retry in {verdict.retry_after} s."
    headers = {"Retry-After": str(verdict.retry_after)}
    return error_response(None, SERVER_ERROR, message, status=429, headers=headers)


def client_address(request: HttpRequest) -> str:
    """The peer address, as the per-address limits count it."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _audit_rejected(request: HttpRequest, request_id: str, client_request_id: str) -> None:
    """Record a refused request, naming the tool only when it is a registered one."""
    record_rejected(request, request_id, client_request_id)
    logger.info("mcp request refused: invalid or missing token", extra={"request_id": request_id})


def authenticate(
    request: HttpRequest,
) -> tuple[Credential | OAuthCredential | None, rate_limits.Verdict | None]:
    """The caller from an admin-issued ``zava_…`` token or an OAuth access token, and,
    for an admin-issued one, the rate limit's verdict, counted in the same round trip
    (None: not counted yet).

    Raises ``InsufficientScope`` for an OAuth token without the tools' scope.
    """
    raw = bearer_credential(request)
    if not raw:
        return None, None
    if raw.startswith(TOKEN_PREFIX):
        return token_authenticate_and_count(raw, settings.ZAVA_RATE_LIMIT_PER_MINUTE)
    return oauth_authenticate(raw, audience=resource_url(request), scope=SCOPE), None


def rate_limit_key(credential: Credential | OAuthCredential) -> int | str:
    """Each token gets its own request budget, whichever kind it is."""
    if isinstance(credential, OAuthCredential):
        return f"oauth-{credential.oauth_token_id}"
    return credential.token_id


def unauthorized(request: HttpRequest) -> HttpResponse:
    error = None if bearer_credential(request) is None else "invalid_token"
    return error_response(
        None,
        SERVER_ERROR,
        UNAUTHORIZED,
        status=401,
        headers={"WWW-Authenticate": challenge(request, error)},
    )


def origin_allowed(request: HttpRequest) -> bool:
    """DNS-rebinding protection: a browser Origin must be ours or explicitly allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: SDK clients, curl, desktop apps
    if origin in settings.ZAVA_MCP_ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == request.get_host()
