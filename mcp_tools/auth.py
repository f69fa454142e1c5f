"""Bearer-token authentication and Origin checks for the MCP endpoint.

Every failure looks the same to the client (401, ``WWW-Authenticate``, empty body):
a missing, malformed, unknown, expired or revoked token cannot be told apart.
The reference's ``x-rls-user-id`` header is ignored: it grants nothing.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from retail.services.tokens import Credential, token_authenticate
from zava.credentials import bearer_credential

REALM = 'Bearer realm="zava-mcp"'


def authenticate(request: HttpRequest) -> Credential | None:
    raw = bearer_credential(request)
    return token_authenticate(raw) if raw else None


def unauthorized(request: HttpRequest) -> HttpResponse:
    challenge = REALM if bearer_credential(request) is None else f'{REALM}, error="invalid_token"'
    response = HttpResponse(status=401)
    response["WWW-Authenticate"] = challenge
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
