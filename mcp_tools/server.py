"""The MCP server object: django-mcp-server's FastMCP, finished for production.

django-mcp-server registers the tools from ``mcp_tools/mcp.py`` but offers no way to
set annotations, a server version or instructions. This module sets them once at
start-up (``McpToolsConfig.ready``) on the SDK objects it exposes, so that no
request pays for them (the SDK otherwise reads its own package version from disk
on every ``initialize``).
"""

from __future__ import annotations

from mcp import types
from mcp.server.fastmcp import FastMCP
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp_server import mcp_server

SERVER_VERSION = "0.1.0"
INSTRUCTIONS = """Zava retail analytics for one manager's stores (Zava is a DIY and
hardware retailer with 7 stores in Washington State and 1 online store).
For common questions use the ready analytics tools: get_store_performance,
get_top_products, get_sales_trend (plot_sales_trend for a chart),
get_inventory_alerts and get_category_seasonality. For anything else start with
get_multiple_table_schemas for the tables you need, then answer with
execute_sales_query; use semantic_search_products to find products described in
plain words, and get_current_utc_date for relative dates. Answer only from what the
tools return; the data you see is limited to your stores."""


def server() -> FastMCP:
    return mcp_server


READ_ONLY = types.ToolAnnotations(
    readOnlyHint=True, destructiveHint=False, idempotentHint=True, openWorldHint=False
)


def tool(description: str, *, annotations: types.ToolAnnotations = READ_ONLY):
    """Mark an MCPToolset method with the description and annotations MCP clients see."""

    def mark(method):
        method.zava_description = description
        method.zava_annotations = annotations
        return method

    return mark


def configure() -> None:
    """Descriptions, titles and annotations on the registered tools; server metadata."""
    for registered in mcp_server._tool_manager.list_tools():  # no public hook exists
        caller = registered.fn
        method = getattr(getattr(caller, "class_", None), getattr(caller, "method_name", ""), None)
        description = getattr(method, "zava_description", None)
        if description is None:
            raise RuntimeError(f"Tool {registered.name} has no @tool(description=...).")
        registered.description = description
        registered.title = registered.name.replace("_", " ").capitalize()
        registered.annotations = method.zava_annotations
    lowlevel = mcp_server._mcp_server
    lowlevel.version = SERVER_VERSION
    lowlevel.instructions = INSTRUCTIONS


def initialization_options() -> InitializationOptions:
    return mcp_server._mcp_server.create_initialization_options(NotificationOptions(), {})


def tool_list() -> list[types.Tool]:
    """The tools as MCP describes them, in a stable order."""
    tools = mcp_server._tool_manager.list_tools()
    return [
        types.Tool(
            name=tool.name,
            title=tool.title,
            description=tool.description,
            inputSchema=tool.parameters,
            outputSchema=tool.output_schema,
            annotations=tool.annotations,
        )
        for tool in sorted(tools, key=lambda t: t.name)
    ]
