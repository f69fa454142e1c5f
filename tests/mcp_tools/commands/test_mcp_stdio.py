"""mcp_stdio serves the same tools over stdio, scoped to the operator-given manager."""

from __future__ import annotations

import pytest

from tests.identities import EASTERN_ONLINE
from tests.mcp_client import tool_json, with_stdio_session

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
