"""``mcp_tools.jsonrpc``: every answer is JSON-RPC in JSON with its length, whatever it echoes."""

from __future__ import annotations

import json

from mcp import types

from mcp_tools.jsonrpc import (
    SERVER_ERROR,
    Reply,
    database_down_reply,
    error_reply,
    json_response,
    respond,
    result_reply,
)


def test_a_result_uses_the_protocols_names_and_leaves_out_what_is_unset():
    reply = result_reply(7, types.CallToolResult(content=[], structuredContent=None))
    assert reply.message == {"jsonrpc": "2.0", "id": 7, "result": {"content": [], "isError": False}}
    assert reply.status == 200


def test_an_error_keeps_its_id_code_status_and_headers():
    reply = error_reply("a", types.INVALID_PARAMS, "bad", status=400, headers={"X": "1"})
    assert reply.message == {
        "jsonrpc": "2.0",
        "id": "a",
        "error": {"code": -32602, "message": "bad"},
    }
    assert (reply.status, reply.headers) == (400, {"X": "1"})


def test_nothing_to_say_is_an_empty_202():
    response = respond(Reply(None))
    assert response.status_code == 202
    assert response.content == b""
    assert response["Content-Length"] == "0"


def test_a_lost_database_is_a_503_the_client_may_retry():
    response = respond(database_down_reply())
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = json.loads(response.content)
    assert body["id"] is None
    assert body["error"]["code"] == SERVER_ERROR


def test_the_body_is_utf8_json_with_its_exact_length():
    response = json_response({"text": "Café ☕"}, headers={"MCP-Protocol-Version": "2025-06-18"})
    assert response["Content-Type"] == "application/json"
    assert "Café ☕".encode() in response.content  # not \\u escapes
    assert response["Content-Length"] == str(len(response.content))
    assert response["MCP-Protocol-Version"] == "2025-06-18"


def test_a_lone_surrogate_echoed_back_becomes_a_replacement_character_not_a_500():
    response = json_response({"echo": "table \ud800 name"})
    assert json.loads(response.content) == {"echo": "table \ufffd name"}
