"""Bearer-token authentication and Origin checks for the MCP endpoint.

Every failure looks the same to the client (401, ``WWW-Authenticate``, one fixed
JSON-RPC error):
a missing, malformed, unknown, expired or revoked token cannot be told apart. Only a
valid OAuth token without the tools' scope gets 403 (``insufficient_scope``).
The reference's ``x-rls-user-id`` header is ignored: it grants nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from infrastructure.credentials import TOKEN_PREFIX, bearer_credential
from mcp_tools.jsonrpc import SERVER_ERROR, error_response
from mcp_tools.protected_resource import SCOPE, challenge, resource_url
from retail.services.oauth_access import OAuthCredential, oauth_authenticate
from retail.services.tokens import Credential, token_authenticate

UNAUTHORIZED = "Unauthorized: send a valid bearer token (see WWW-Authenticate)."


def authenticate(request: HttpRequest) -> Credential | OAuthCredential | None:
    """The caller from an admin-issued ``zava_…`` token or an OAuth access token.

    Raises ``InsufficientScope`` for an OAuth token without the tools' scope.
    """
    raw = bearer_credential(request)
    if not raw:
        return None
    if raw.startswith(TOKEN_PREFIX):
        return token_authenticate(raw)
    return oauth_authenticate(raw, audience=resource_url(request), scope=SCOPE)


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
