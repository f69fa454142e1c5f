"""/mcp tells clients without a valid token where to sign in (RFC 9728, RFC 6750)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.mcp_client import post

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


def _challenge_params(header: str) -> dict[str, str]:
    assert header.startswith("Bearer ")
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', header))


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
def test_metadata_names_the_resource_its_server_scope_and_bearer_method(zava_server, path):
    response = httpx.get(zava_server.url + path, timeout=10)

    assert response.status_code == 200
    document = response.json()
    # RFC 9728 §2: resource is required; the rest is what MCP clients use.
    assert document["resource"] == zava_server.mcp_url
    assert document["authorization_servers"] == [zava_server.url]
    assert document["scopes_supported"] == ["retail.read"]
    assert document["bearer_methods_supported"] == ["header"]


def test_a_request_without_a_token_learns_where_the_metadata_is(zava_server):
    response = post(zava_server.mcp_url, CALL)

    assert response.status_code == 401
    params = _challenge_params(response.headers["WWW-Authenticate"])
    assert "error" not in params  # no credentials: no error code (RFC 6750 §3.1)
    metadata = httpx.get(params["resource_metadata"], timeout=10)
    assert metadata.json()["resource"] == zava_server.mcp_url


def test_an_invalid_token_gets_invalid_token_and_the_metadata(zava_server):
    response = post(zava_server.mcp_url, CALL, token="zava_" + "B" * 43)

    assert response.status_code == 401
    params = _challenge_params(response.headers["WWW-Authenticate"])
    assert params["error"] == "invalid_token"
    assert (
        params["resource_metadata"] == f"{zava_server.url}/.well-known/oauth-protected-resource/mcp"
    )
    assert params["realm"] == "zava-mcp"
