"""Every touch of django-mcp-server's and the MCP SDK's private objects, in one place.

Written for **django-mcp-server 0.5.7** and **mcp 1.30** (the 1.x ``FastMCP``). Neither
offers a public way to look a registered tool up, validate its arguments without
running it through the SDK's event loop, find the toolset method behind it, set the
server's version and instructions, or reach the low-level request handlers; so this
module reaches into them, and nothing else in the project does:

* ``FastMCP._tool_manager`` (``get_tool``, ``list_tools``) and the SDK ``Tool``'s
  ``fn_metadata`` (``arg_model``, ``pre_parse_json``);
* ``FastMCP._resource_manager.list_resources`` and ``list_templates`` (a template's
  ``uri_template`` and ``matches``) and ``FastMCP._prompt_manager.get_prompt`` (a
  prompt's ``arguments``), to tell a registered name from one a client made up (the
  audit stores only those, a templated read under its template) and which arguments a
  completion may be asked for;
* ``mcp_server.djangomcp._ToolsetMethodCaller`` (``class_``, ``method_name``), what
  django-mcp-server registers in place of each ``MCPToolset`` method;
* ``FastMCP._mcp_server`` (the low-level ``Server``: ``version``, ``instructions``,
  ``icons``, ``request_handlers``, ``create_initialization_options``), and the
  ``icons`` of registered tools, prompts (``_prompt_manager.list_prompts``), resources
  and templates, for stdio, where FastMCP's own handlers list them;
* how FastMCP reports a failed resource read: a ``ResourceError`` carrying only the
  text, with the original exception kept as its ``__context__`` (for a templated
  resource, a ``ValueError`` wrapped around it twice, the same way).

:func:`problems` checks all of them; ``McpToolsConfig.ready`` refuses to start when
one is missing, and ``tests/mcp_tools/test_sdk_adapter.py`` fails with the list, so
an upgrade that changes them is caught before a request meets it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, TypeVar

from mcp import types
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.tools import Tool
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.models import InitializationOptions
from mcp_server import mcp_server
from mcp_server.djangomcp import _ToolsetMethodCaller

E = TypeVar("E", bound=BaseException)
WRITTEN_FOR = {"django-mcp-server": "0.5.7", "mcp": "1.30"}


def server() -> FastMCP:
    """django-mcp-server's FastMCP instance, where the tools, resources and prompts live."""
    return mcp_server


def registered_tools() -> list[Tool]:
    return mcp_server._tool_manager.list_tools()


def find_tool(name: str) -> Tool | None:
    return mcp_server._tool_manager.get_tool(name)


def registered_resource_uris() -> set[str]:
    return {str(resource.uri) for resource in mcp_server._resource_manager.list_resources()}


def resource_template_of(uri: str) -> str | None:
    """The registered URI template ``uri`` matches (``zava://charts/{chart_id}``), if any."""
    for template in mcp_server._resource_manager.list_templates():
        if template.matches(uri) is not None:
            return template.uri_template
    return None


def prompt_exists(name: str) -> bool:
    return mcp_server._prompt_manager.get_prompt(name) is not None


def prompt_argument_names(name: str) -> list[str]:
    """The argument names of a registered prompt; empty for an unknown one."""
    prompt = mcp_server._prompt_manager.get_prompt(name)
    return [argument.name for argument in (prompt.arguments or [])] if prompt else []


def registered_resource_templates() -> set[str]:
    return {template.uri_template for template in mcp_server._resource_manager.list_templates()}


def resource_exists(uri: str) -> bool:
    """Whether ``uri`` is a registered resource or matches a registered template."""
    return uri in registered_resource_uris() or resource_template_of(uri) is not None


Completer = Callable[
    [
        types.PromptReference | types.ResourceTemplateReference,
        types.CompletionArgument,
        types.CompletionContext | None,
    ],
    Awaitable[types.Completion],
]


def set_completion_handler(complete: Completer) -> None:
    """Answer ``completion/complete`` with ``complete`` (and so advertise completions)."""
    mcp_server.completion()(complete)


def validated_arguments(tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments as the tool's own pydantic model accepts them (raises ValidationError)."""
    metadata = tool.fn_metadata
    model = metadata.arg_model.model_validate(metadata.pre_parse_json(arguments))
    return model.model_dump_one_level()


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


def set_server_info(*, version: str, instructions: str) -> None:
    lowlevel = mcp_server._mcp_server
    lowlevel.version = version
    lowlevel.instructions = instructions


def set_icons(icons_of: Callable[[str, str], list[types.Icon]], server: list[types.Icon]) -> None:
    """Icons on every registered tool, prompt, resource and template, and on the server,
    for FastMCP's own handlers (over stdio); ``icons_of(kind, name)`` gives each's."""
    for tool in registered_tools():
        tool.icons = icons_of("tool", tool.name)
    for prompt in mcp_server._prompt_manager.list_prompts():
        prompt.icons = icons_of("prompt", prompt.name)
    for resource in mcp_server._resource_manager.list_resources():
        resource.icons = icons_of("resource", resource.name or "")
    for template in mcp_server._resource_manager.list_templates():
        template.icons = icons_of("resource", template.name)
    mcp_server._mcp_server.icons = server


def initialization_options() -> InitializationOptions:
    return mcp_server._mcp_server.create_initialization_options(NotificationOptions(), {})


def request_handler(request_type: type) -> Any | None:
    """The SDK's low-level handler for a request type (resources, prompts), if any."""
    return mcp_server._mcp_server.request_handlers.get(request_type)


def original_error(exc: BaseException, kind: type[E]) -> E | None:
    """The ``kind`` error FastMCP flattened into ``exc`` (a failed resource read), if any."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def problems() -> list[str]:
    """What an upgrade changed of the internals this module relies on; empty when none."""
    found: list[str] = []
    manager = getattr(mcp_server, "_tool_manager", None)
    for method in ("get_tool", "list_tools"):
        if not callable(getattr(manager, method, None)):
            found.append(f"FastMCP._tool_manager.{method}() is gone")
    for owner, method in (
        ("_resource_manager", "list_resources"),
        ("_resource_manager", "list_templates"),
        ("_prompt_manager", "get_prompt"),
        ("_prompt_manager", "list_prompts"),
    ):
        if not callable(getattr(getattr(mcp_server, owner, None), method, None)):
            found.append(f"FastMCP.{owner}.{method}() is gone")
    lowlevel = getattr(mcp_server, "_mcp_server", None)
    if not isinstance(getattr(lowlevel, "request_handlers", None), dict):
        found.append("FastMCP._mcp_server.request_handlers is no longer a dict")
    if not callable(getattr(lowlevel, "create_initialization_options", None)):
        found.append("FastMCP._mcp_server.create_initialization_options() is gone")
    for attribute in ("version", "instructions", "icons"):
        if not hasattr(lowlevel, attribute):
            found.append(f"FastMCP._mcp_server.{attribute} is gone")
    if types.ReadResourceRequest not in getattr(lowlevel, "request_handlers", {}):
        found.append("FastMCP no longer registers a resources/read handler")
    if not callable(getattr(mcp_server, "completion", None)):
        found.append("FastMCP.completion() is gone")
    for template in mcp_server._resource_manager.list_templates() if not found else ():
        if not (hasattr(template, "uri_template") and callable(getattr(template, "matches", None))):
            found.append("ResourceTemplate lost uri_template or matches()")
    for tool in registered_tools() if not found else ():
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
    if found:
        installed = ", ".join(f"{name} {version(name)}" for name in WRITTEN_FOR)
        written = ", ".join(f"{name} {v}" for name, v in WRITTEN_FOR.items())
        found.append(f"mcp_tools/sdk_adapter.py was written for {written}; installed: {installed}")
    return found
