"""mcp_stdio serves the same tools over stdio, scoped to the operator-given manager."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import pytest
from django.conf import settings
from django.db import connections
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests.identities import EASTERN_ONLINE

pytestmark = pytest.mark.slow  # each test starts manage.py in a subprocess


def test_stdio_tools_see_only_the_managers_stores(database):
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(settings.BASE_DIR / "manage.py"), "mcp_stdio", "--manager", EASTERN_ONLINE.email],
        env={**os.environ, "ZAVA_DB_NAME": connections["default"].settings_dict["NAME"]},
        cwd=str(settings.BASE_DIR),
    )

    async def main():
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            result = await session.call_tool(
                "execute_sales_query",
                {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"},
            )
            return tools, result

    tools, result = asyncio.run(main())
    assert "execute_sales_query" in {tool.name for tool in tools.tools}
    assert not result.isError
    assert json.loads(result.content[0].text)["r"] == [[4], [8]]  # Spokane and Online
