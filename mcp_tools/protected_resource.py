"""The /mcp endpoint as an OAuth protected resource (RFC 9728, RFC 6750).

Clients that arrive without a token learn from the 401's ``WWW-Authenticate``
header where the metadata document is; it names this server's authorization server
(django-oauth-toolkit under ``/o/``), the scope every tool needs and how to send the
token. The resource identifier is this server's /mcp URL: the audience that OAuth
access tokens must be bound to (RFC 8707).
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from oauth2_provider.views import OAuthProtectedResourceMetadataView

from mcp_tools.jsonrpc import SERVER_ERROR, error_response

REALM = "zava-mcp"
METADATA_PATH = "/.well-known/oauth-protected-resource"
SCOPE = "retail.read"


def public_origin(request: HttpRequest) -> str:
    """``scheme://host[:port]`` clients use: ZAVA_PUBLIC_URL, else the request's own."""
    configured = settings.ZAVA_PUBLIC_URL.rstrip("/")
    return configured or request.build_absolute_uri("/").rstrip("/")


def resource_url(request: HttpRequest) -> str:
    """The RFC 8707 resource indicator (and token audience) of the MCP endpoint."""
    return public_origin(request) + settings.ZAVA_MCP_PATH


def metadata_url(request: HttpRequest) -> str:
    """RFC 9728's path form: the document of the resource ``…/mcp``."""
    return public_origin(request) + METADATA_PATH + settings.ZAVA_MCP_PATH


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(request: HttpRequest, error: str | None = None, **params: str) -> str:
    """``Bearer realm=…, [error=…,] …, resource_metadata=…`` for a 401 or 403."""
    parts = {"realm": REALM, **({"error": error} if error else {}), **params}
    parts["resource_metadata"] = metadata_url(request)
    return "Bearer " + ", ".join(f"{key}={_quoted(value)}" for key, value in parts.items())


def insufficient_scope(request: HttpRequest) -> HttpResponse:
    """403 for a valid token that lacks the scope the tools need (RFC 6750 §3.1)."""
    return error_response(
        None,
        SERVER_ERROR,
        f"Forbidden: the token lacks the scope {SCOPE}.",
        status=403,
        headers={"WWW-Authenticate": challenge(request, "insufficient_scope", scope=SCOPE)},
    )


class McpResourceMetadataView(OAuthProtectedResourceMetadataView):
    """RFC 9728 metadata, at the root and at the path form for /mcp alike."""

    def get_resource(self, request: HttpRequest) -> str:
        return resource_url(request)

    def get_authorization_servers(self, request: HttpRequest) -> list[str]:
        return [public_origin(request)]

    def get_scopes_supported(self) -> list[str]:
        return [SCOPE]

    def get_resource_name(self) -> str:
        return "Zava retail analytics (MCP)"
