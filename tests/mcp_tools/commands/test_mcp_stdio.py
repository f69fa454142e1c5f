"""mcp_stdio serves the same tools over stdio, scoped to the operator-given manager."""

from __future__ import annotations

import io
import json

import pytest
from mcp import types

from mcp_tools.caller import Caller
from mcp_tools.management.commands.mcp_stdio import serve
from tests.identities import EASTERN_ONLINE
from tests.mcp_client import modern_message, text_json, tool_json, with_stdio_session

pytestmark = pytest.mark.slow  # each test starts manage.py in a subprocess


def test_stdio_tools_see_only_the_managers_stores(database):
    async def work(session):
        tools = await session.list_tools()
        result = await session.call_tool(
            "execute_sales_query",
            {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"},
        )
        return tools, result

    tools, result = with_stdio_session(EASTERN_ONLINE.email, work)
    assert "execute_sales_query" in {tool.name for tool in tools.tools}
    assert not result.isError
    assert tool_json(result)["r"] == [[4], [8]]  # Spokane and Online


def test_stdio_speaks_2026_07_28_beside_the_handshake(database):
    """One stdio session, both eras: the modern lines need no initialize."""
    caller = Caller(manager_id=EASTERN_ONLINE.id, token_id=None, request_id="", transport="stdio")
    sql = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"
    lines = [
        modern_message("server/discover", request_id=1),
        modern_message(
            "tools/call",
            {"name": "execute_sales_query", "arguments": {"postgresql_query": sql}},
            request_id=2,
        ),
        modern_message("ping", request_id=3),  # removed in 2026-07-28
        {"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28"}}},  # no capabilities
        {"jsonrpc": "2.0", "method": "notifications/initialized",
         "params": {"_meta": modern_message("x")["params"]["_meta"]}},  # never answered
        {"jsonrpc": "2.0", "id": 5, "method": "ping"},  # a 2025 client's ping still works
    ]  # fmt: skip
    incoming = io.StringIO("".join(json.dumps(line) + "\n" for line in lines))
    outgoing = io.StringIO()
    serve(caller, incoming, outgoing, origin=None)
    answers = {answer["id"]: answer for answer in map(json.loads, outgoing.getvalue().splitlines())}
    assert sorted(answers) == [1, 2, 3, 4, 5]
    assert answers[1]["result"]["supportedVersions"][0] == "2026-07-28"
    called = answers[2]["result"]
    assert called["resultType"] == "complete"
    assert text_json(called["content"][0]["text"], is_error=False)["r"] == [[4], [8]]
    assert answers[3]["error"]["code"] == types.METHOD_NOT_FOUND
    assert answers[4]["error"]["code"] == types.INVALID_PARAMS
    assert answers[5]["result"] == {}
