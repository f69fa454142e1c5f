"""Every touch of django-mcp-server's and the MCP SDK's private objects, in one place.

Written for **django-mcp-server 0.5.7** and **mcp 1.30** (the 1.x ``FastMCP``). Neither
offers a public way to enumerate what was registered with the objects behind it, so
this module reads them, once, for :func:`mcp_tools.registry.build`, and nothing else
in the project does:

* ``FastMCP._tool_manager.list_tools`` and each SDK ``Tool``'s ``fn_metadata``
  (``arg_model``, ``pre_parse_json``) and ``output_schema``;
* ``mcp_server.djangomcp._ToolsetMethodCaller`` (``class_``, ``method_name``), what
  django-mcp-server registers in place of each ``MCPToolset`` method;
* ``FastMCP._resource_manager.list_resources`` (a function resource's ``fn``) and
  ``list_templates`` (``uri_template``, ``matches``, ``fn``), and
  ``FastMCP._prompt_manager.list_prompts`` (``arguments``, ``fn``).

:func:`problems` checks all of them; the registry refuses to build when one is
missing, and ``tests/mcp_tools/test_sdk_adapter.py`` fails with the list, so an
upgrade that changes them is caught before a request meets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.prompts import Prompt
from mcp.server.fastmcp.resources import ResourceTemplate
from mcp.server.fastmcp.tools import Tool
from mcp_server import mcp_server
from mcp_server.djangomcp import _ToolsetMethodCaller
from pydantic import BaseModel

WRITTEN_FOR = {"django-mcp-server": "0.5.7", "mcp": "1.30"}


def server() -> FastMCP:
    """django-mcp-server's FastMCP instance, where the tools, resources and prompts live."""
    return mcp_server


def registered_tools() -> list[Tool]:
    return mcp_server._tool_manager.list_tools()


@dataclass(frozen=True)
class ToolsetMethod:
    """The ``MCPToolset`` class and method name django-mcp-server registered as a tool."""

    toolset: type
    method_name: str


def toolset_method(tool: Tool) -> ToolsetMethod:
    caller = tool.fn
    if not isinstance(caller, _ToolsetMethodCaller):
        raise TypeError(f"Tool {tool.name} is not an MCPToolset method.")
    return ToolsetMethod(toolset=caller.class_, method_name=caller.method_name)


def argument_model(tool: Tool) -> type[BaseModel]:
    """The pydantic model FastMCP built from the tool's signature."""
    return tool.fn_metadata.arg_model


def argument_pre_parser(tool: Tool) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """FastMCP's step that decodes arguments a client sent as JSON text."""
    return tool.fn_metadata.pre_parse_json


def registered_resources() -> list[Any]:
    return mcp_server._resource_manager.list_resources()


def resource_function(resource: Any) -> Callable[[], str | bytes]:
    return resource.fn


def registered_templates() -> list[ResourceTemplate]:
    return mcp_server._resource_manager.list_templates()


def registered_prompts() -> list[Prompt]:
    return mcp_server._prompt_manager.list_prompts()


def problems() -> list[str]:
    """What an upgrade changed of the internals this module relies on; empty when none."""
    found: list[str] = []
    for owner, method in (
        ("_tool_manager", "list_tools"),
        ("_resource_manager", "list_resources"),
        ("_resource_manager", "list_templates"),
        ("_prompt_manager", "list_prompts"),
    ):
        if not callable(getattr(getattr(mcp_server, owner, None), method, None)):
            found.append(f"FastMCP.{owner}.{method}() is gone")
    if not found:
        found.extend(_registration_problems())
    if found:
        installed = ", ".join(f"{name} {version(name)}" for name in WRITTEN_FOR)
        written = ", ".join(f"{name} {v}" for name, v in WRITTEN_FOR.items())
        found.append(f"mcp_tools/sdk_adapter.py was written for {written}; installed: {installed}")
    return found


def _registration_problems() -> list[str]:
    found: list[str] = []
    for template in registered_templates():
        if not all(hasattr(template, name) for name in ("uri_template", "fn", "mime_type")):
            found.append("ResourceTemplate lost uri_template, fn or mime_type")
        if not callable(getattr(template, "matches", None)):
            found.append("ResourceTemplate lost matches()")
    for resource in registered_resources():
        if not callable(getattr(resource, "fn", None)):
            found.append(f"resource {resource.uri} has no fn (not a FunctionResource)")
    for prompt in registered_prompts():
        if not (hasattr(prompt, "arguments") and callable(getattr(prompt, "fn", None))):
            found.append("Prompt lost arguments or fn")
    for tool in registered_tools():
        caller = tool.fn
        if not isinstance(caller, _ToolsetMethodCaller):
            found.append(f"tool {tool.name} is not registered as a _ToolsetMethodCaller")
        elif not (hasattr(caller, "class_") and hasattr(caller, "method_name")):
            found.append("_ToolsetMethodCaller lost its class_ or method_name")
        metadata = getattr(tool, "fn_metadata", None)
        if not (
            hasattr(metadata, "arg_model") and callable(getattr(metadata, "pre_parse_json", None))
        ):
            found.append(f"tool {tool.name}: Tool.fn_metadata lost arg_model or pre_parse_json")
        if not hasattr(tool, "output_schema"):
            found.append(f"tool {tool.name}: Tool lost output_schema")
    return found
