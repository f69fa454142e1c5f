"""Bearer-token authentication and Origin checks for the MCP endpoint.

Every failure looks the same to the client (401, ``WWW-Authenticate``, empty body):
a missing, malformed, unknown, expired or revoked token cannot be told apart.
The reference's ``x-rls-user-id`` header is ignored: it grants nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mcp_tools.protected_resource import challenge
from retail.services.tokens import Credential, token_authenticate


def bearer_token(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def authenticate(request: HttpRequest) -> Credential | None:
    raw = bearer_token(request)
    return token_authenticate(raw) if raw else None


def unauthorized(request: HttpRequest) -> HttpResponse:
    error = None if bearer_token(request) is None else "invalid_token"
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = challenge(request, error)
    response["Content-Length"] = "0"
    return response


def origin_allowed(request: HttpRequest) -> bool:
    """DNS-rebinding protection: a browser Origin must be ours or explicitly allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: SDK clients, curl, desktop apps
    if origin in settings.ZAVA_MCP_ALLOWED_ORIGINS:
        return True
    parts = urlsplit(origin)
    return bool(parts.netloc) and parts.netloc == request.get_host()
