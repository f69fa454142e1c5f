"""The /mcp transport: what the MCP spec asks of a stateless Streamable HTTP server."""

from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlsplit

import httpx
import pytest
from django.test import Client
from mcp import types

from tests.mcp_client import (
    JSON_HEADERS,
    MODERN,
    modern_headers,
    modern_message,
    modern_rpc,
    post,
    rpc,
    with_session,
)


def _healthy(url: str, token: str) -> None:
    response = rpc(url, token, "ping")
    assert response.status_code == 200
    assert response.json()["result"] == {}


def test_the_official_client_initialises_pings_and_lists_tools(url, token):
    async def work(session):
        await session.send_ping()
        return await session.list_tools()

    listed = with_session(url, token, work)
    reference = {
        "get_multiple_table_schemas",
        "execute_sales_query",
        "get_current_utc_date",
        "semantic_search_products",
    }
    analytics = {
        "get_store_performance",
        "get_top_products",
        "get_sales_trend",
        "plot_sales_trend",
        "get_inventory_alerts",
        "get_category_seasonality",
    }
    assert {tool.name for tool in listed.tools} == reference | analytics
    assert all(tool.annotations.readOnlyHint for tool in listed.tools)
    assert all(len(tool.description) > 100 for tool in listed.tools)


def test_initialize_negotiates_a_supported_protocol_version(url, token):
    params = {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    }
    result = rpc(url, token, "initialize", params).json()["result"]
    assert result["protocolVersion"] == "2025-06-18"
    assert result["serverInfo"]["name"] == "zava-mcp"
    assert "tools" in result["capabilities"]

    params["protocolVersion"] = "1999-01-01"
    result = rpc(url, token, "initialize", params).json()["result"]
    assert result["protocolVersion"] == types.LATEST_PROTOCOL_VERSION


def _json_rpc_error(response: httpx.Response, status: int) -> dict:
    """The JSON-RPC error of a refusal: JSON, never an HTML page."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body["jsonrpc"] == "2.0" and body["id"] is None
    return body["error"]


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH", "OPTIONS"])
def test_methods_other_than_post_get_405_as_json_rpc(url, token, method):
    response = httpx.request(
        method,
        url,
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        timeout=10,
    )
    error = _json_rpc_error(response, 405)
    assert error["code"] == types.INVALID_REQUEST
    assert method in error["message"]
    assert response.headers["Allow"] == "POST"


def test_head_gets_405_with_the_json_type_and_no_body(url, token):
    response = httpx.head(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Allow"] == "POST"


def test_a_foreign_origin_is_refused(url, token):
    response = post(
        url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=token,
        headers={"Origin": "http://evil.example"},
    )  # fmt: skip
    assert "Origin" in _json_rpc_error(response, 403)["message"]
    allowed = post(
        url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=token,
        headers={"Origin": "http://localhost:6274"},
    )  # fmt: skip
    assert allowed.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, types.PARSE_ERROR),
        (b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', 400, types.INVALID_REQUEST),
        (b'{"jsonrpc": "1.0", "id": 1, "method": "ping"}', 400, types.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "ping"}', 400, types.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": 42}', 400, types.INVALID_REQUEST),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "no/such"}', 200, types.METHOD_NOT_FOUND),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": 7}', 200,
         types.INVALID_PARAMS),
        (b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {}}', 200,
         types.INVALID_PARAMS),
        (b"[" * 5_000 + b"]" * 5_000, 400, types.PARSE_ERROR),
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, 400, types.PARSE_ERROR),
    ],
)  # fmt: skip
def test_malformed_json_rpc_gets_a_json_rpc_error_and_the_server_stays_healthy(
    url, token, body, status, code
):
    response = post(url, body, token=token)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    _healthy(url, token)


def test_notifications_and_client_responses_are_accepted_without_a_body(url, token):
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert post(url, notification, token=token).status_code == 202
    client_response = {"jsonrpc": "2.0", "id": 5, "result": {}}
    assert post(url, client_response, token=token).status_code == 202


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Accept": "text/html"}, 406),
        ({"Content-Type": "text/plain"}, 415),
        ({"MCP-Protocol-Version": "1999-01-01"}, 400),
    ],
)
def test_header_rules_are_enforced(url, token, headers, status):
    response = post(
        url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=token, headers=headers
    )
    assert response.status_code == status


@pytest.mark.parametrize("version", ["2000-01-01", "2099-01-01", "invalid-protocol-version", ""])
@pytest.mark.parametrize("method", ["tools/list", "ping", "tools/call", "completion/complete"])
def test_an_unsupported_protocol_version_gets_400_with_a_json_rpc_error(
    url, token, version, method
):
    message = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {}}
    response = post(url, message, token=token, headers={"MCP-Protocol-Version": version})
    assert response.status_code == 400
    error = response.json()
    assert error["id"] == 7
    # The 2026-07-28 revision's error, which a 2025 client reads as any 400: it names
    # the versions spoken here, newest first, so a client of either era can pick one.
    assert error["error"]["code"] == -32022
    assert error["error"]["data"] == {
        "supported": ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"],
        "requested": version,
    }
    assert "2026-07-28, 2025-11-25" in error["error"]["message"]


def test_notifications_with_an_unsupported_version_get_400_too(url, token):
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = post(url, notification, token=token, headers={"MCP-Protocol-Version": "1.0"})
    assert response.status_code == 400


def test_initialize_negotiates_in_the_body_whatever_the_header_says(url, token):
    params = {"protocolVersion": "2025-06-18", "capabilities": {},
              "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
    message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    response = post(url, message, token=token, headers={"MCP-Protocol-Version": "2099-01-01"})
    assert response.status_code == 200
    assert response.json()["result"]["protocolVersion"] == "2025-06-18"
    assert response.headers["MCP-Protocol-Version"] == "2025-06-18"


@pytest.mark.parametrize("version", ["2025-11-25", "2025-06-18", "2024-11-05"])
def test_answers_carry_the_negotiated_version(url, token, version):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    response = post(url, ping, token=token, headers={"MCP-Protocol-Version": version})
    assert response.status_code == 200
    assert response.headers["MCP-Protocol-Version"] == version


def test_without_the_header_the_specs_default_version_applies(url, token):
    response = rpc(url, token, "tools/list")
    assert response.status_code == 200
    assert len(response.json()["result"]["tools"]) == 10
    assert (
        response.headers["MCP-Protocol-Version"] == types.DEFAULT_NEGOTIATED_VERSION == "2025-03-26"
    )


@pytest.mark.parametrize("megabytes", [1.1, 2.4, 5, 40])
def test_an_oversized_body_is_413_as_json_rpc_at_any_size(url, token, megabytes):
    """Over ZAVA_MCP_MAX_BODY_BYTES (1 MiB) and past Django's own 2.5 MB cap alike."""
    pad = "x" * int(megabytes * 1024 * 1024)
    huge = {"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": pad}}
    response = post(url, huge, token=token)
    error = _json_rpc_error(response, 413)
    assert error["code"] == types.INVALID_REQUEST
    assert "too large" in error["message"]
    _healthy(url, token)


def test_an_unexpected_failure_is_a_json_rpc_500_and_logged(database, token, monkeypatch, caplog):
    """Through Django's whole middleware stack: whatever escapes the view is JSON."""

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("mcp_tools.dispatch.initialize_result", broken)
    params = {"protocolVersion": "2025-06-18", "capabilities": {},
              "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
    response = Client().post(
        "/mcp",
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params},
        content_type="application/json",
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == types.INTERNAL_ERROR
    assert "a bug" not in response.content.decode()
    assert any(r.levelname == "ERROR" and r.exc_info for r in caplog.records)


def test_responses_carry_a_server_request_id_and_echo_the_clients_apart(url, token):
    response = post(url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token=token,
                    headers={"X-Request-ID": "test-request-0001"})  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert response.headers["X-Client-Request-ID"] == "test-request-0001"


# --- MCP 2026-07-28 (stateless): the same endpoint, no handshake ------------------------


def test_a_modern_client_discovers_without_a_handshake(url, token):
    response = modern_rpc(url, token, "server/discover")
    assert response.status_code == 200
    assert response.headers["MCP-Protocol-Version"] == MODERN
    result = response.json()["result"]
    assert result["resultType"] == "complete"
    assert result["supportedVersions"][0] == MODERN
    assert "2025-11-25" in result["supportedVersions"]  # dual-era: both are spoken
    assert set(result["capabilities"]) >= {"tools", "resources", "prompts", "extensions"}
    assert result["instructions"].startswith("Zava retail analytics")
    info = result["_meta"]["io.modelcontextprotocol/serverInfo"]
    assert {"name", "title", "version", "description", "icons"} <= set(info)
    assert (result["ttlMs"], result["cacheScope"]) == (300_000, "public")


def test_modern_lists_say_they_are_complete_and_how_long_to_cache_them(url, token):
    for method in ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]:
        result = modern_rpc(url, token, method).json()["result"]
        assert result["resultType"] == "complete", method
        assert (result["ttlMs"], result["cacheScope"]) == (300_000, "public"), method
        assert result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "zava-mcp"
    legacy = rpc(url, token, "tools/list").json()["result"]
    assert not {"resultType", "ttlMs", "cacheScope"} & set(legacy)  # 2025 answers unchanged


def test_a_modern_resource_read_is_private_to_the_caller(url, token):
    response = modern_rpc(url, token, "resources/read", {"uri": "zava://stores/mine"})
    result = response.json()["result"]
    assert (result["ttlMs"], result["cacheScope"]) == (60_000, "private")
    text = result["contents"][0]["text"]
    assert '"r":[[1,' in text and '"n":1}' in text  # Seattle's own store, and no other


def test_a_modern_tool_call_is_fenced_to_the_callers_stores(url, token):
    sql = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"
    params = {"name": "execute_sales_query", "arguments": {"postgresql_query": sql}}
    result = modern_rpc(url, token, "tools/call", params).json()["result"]
    assert result["resultType"] == "complete"
    assert result["isError"] is False
    assert '"r":[[1]]' in result["content"][0]["text"]  # Seattle's token: store 1 only


def test_a_modern_request_without_its_envelope_is_refused_with_400(url, token):
    message = {"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"}
    response = post(url, message, token=token, headers=headers)
    assert response.status_code == 400
    assert response.json()["id"] == 3
    assert response.json()["error"]["code"] == types.INVALID_PARAMS
    without_capabilities = modern_message("tools/list")
    del without_capabilities["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"]
    response = post(url, without_capabilities, token=token, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, -32602)


def test_a_modern_request_may_leave_out_client_info(url, token):
    message = modern_message("tools/list")
    del message["params"]["_meta"]["io.modelcontextprotocol/clientInfo"]
    response = post(url, message, token=token, headers=modern_headers(message))
    assert response.status_code == 200


def test_an_unknown_version_in_the_envelope_gets_32022_with_the_supported_ones(url, token):
    message = modern_message("tools/list")
    message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = "2099-01-01"
    headers = {**modern_headers(message), "MCP-Protocol-Version": "2099-01-01"}
    response = post(url, message, token=token, headers=headers)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == -32022
    assert error["data"]["requested"] == "2099-01-01"
    assert MODERN in error["data"]["supported"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("MCP-Protocol-Version", "2025-11-25"),  # the body says 2026-07-28
        ("Mcp-Method", "tools/list"),  # the body calls a tool
        ("Mcp-Method", "TOOLS/CALL"),  # values are case-sensitive
        ("Mcp-Name", "execute_sales_query"),  # the body names another tool
        ("Mcp-Name", "=?base64?!!!?="),  # not Base64
    ],
)
def test_headers_that_disagree_with_the_body_get_32020(url, token, header, value):
    params = {"name": "get_current_utc_date", "arguments": {}}
    response = modern_rpc(url, token, "tools/call", params, headers={header: value})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32020


@pytest.mark.parametrize("missing", ["MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"])
def test_a_missing_mirrored_header_gets_32020(url, token, missing):
    message = modern_message("tools/call", {"name": "get_current_utc_date", "arguments": {}})
    headers = modern_headers(message)
    del headers[missing]
    response = post(url, message, token=token, headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, -32020)


def test_mirrored_headers_match_case_insensitively_with_whitespace_and_base64(url, token):
    message = modern_message("tools/call", {"name": "get_current_utc_date", "arguments": {}})
    headers = {
        **JSON_HEADERS,
        "Authorization": f"Bearer {token}",
        "mcp-protocol-version": MODERN,
        "mcp-method": "  tools/call ",  # httpx would refuse to send the spaces
        "MCP-NAME": "=?base64?Z2V0X2N1cnJlbnRfdXRjX2RhdGU=?=",
    }
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("POST", parts.path, body=json.dumps(message), headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert json.loads(response.read())["result"]["isError"] is False


@pytest.mark.parametrize(
    "method", ["initialize", "ping", "logging/setLevel", "tasks/get", "no/such"]
)
def test_methods_the_revision_removed_are_not_found_there(url, token, method):
    response = modern_rpc(url, token, method)
    assert response.status_code == 404
    assert response.json()["id"] == 1
    assert response.json()["error"]["code"] == types.METHOD_NOT_FOUND
    if method not in {"tasks/get", "no/such"}:
        assert rpc(url, token, "ping").status_code == 200  # and keep working for 2025 clients


def test_an_unknown_tool_is_a_protocol_error_in_the_modern_lane_only(url, token):
    modern = modern_rpc(url, token, "tools/call", {"name": "nope", "arguments": {}})
    assert modern.json()["error"]["code"] == types.INVALID_PARAMS
    assert "get_current_utc_date" in modern.json()["error"]["message"]
    legacy = rpc(url, token, "tools/call", {"name": "nope", "arguments": {}})
    assert legacy.json()["result"]["isError"] is True


def test_an_unknown_resource_names_its_uri_in_both_eras(url, token):
    uri = "zava://nowhere"
    modern = modern_rpc(url, token, "resources/read", {"uri": uri}).json()["error"]
    legacy = rpc(url, token, "resources/read", {"uri": uri}).json()["error"]
    assert (modern["code"], modern["data"]) == (types.INVALID_PARAMS, {"uri": uri})
    assert (legacy["code"], legacy["data"]) == (-32002, {"uri": uri})  # the 2025 spec's code


@pytest.mark.parametrize("modern", [True, False])
def test_session_and_resumption_headers_are_ignored_and_no_session_is_minted(url, token, modern):
    stale = {"Mcp-Session-Id": "from-another-server", "Last-Event-ID": "42"}
    if modern:
        response = modern_rpc(url, token, "tools/list", headers=stale)
    else:
        response = post(url, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                        token=token, headers=stale)  # fmt: skip
    assert response.status_code == 200
    assert "result" in response.json()
    assert "Mcp-Session-Id" not in response.headers
