"""The one module that touches django-mcp-server's and the MCP SDK's private objects.

An upgrade that renames or reshapes them must fail here, with the list of what
changed, rather than in a request.
"""

from __future__ import annotations

import re
from pathlib import Path

from mcp_tools import sdk_adapter

MCP_TOOLS = Path(sdk_adapter.__file__).parent
PRIVATE = re.compile(r"\._tool_manager|\._mcp_server|\._resource_manager|\._prompt_manager|"
                     r"_ToolsetMethodCaller|mcp_server\.djangomcp")  # fmt: skip


def test_the_internals_the_adapter_relies_on_are_still_there():
    problems = sdk_adapter.problems()
    assert problems == [], "django-mcp-server or the MCP SDK changed:\n" + "\n".join(problems)


def test_a_changed_internal_is_named_with_the_versions_it_was_written_for(monkeypatch):
    monkeypatch.delattr(sdk_adapter.mcp_server, "_tool_manager")
    problems = sdk_adapter.problems()
    assert "FastMCP._tool_manager.list_tools() is gone" in problems
    assert "written for django-mcp-server 0.5.7, mcp 1.30; installed: " in problems[-1]


def test_no_other_module_touches_the_private_objects():
    offenders = [
        f"{path.name}:{number}"
        for path in sorted(MCP_TOOLS.rglob("*.py"))
        if path.name != "sdk_adapter.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if PRIVATE.search(line)
    ]
    assert offenders == [], f"private SDK objects reached outside sdk_adapter.py: {offenders}"


def test_every_tool_is_a_toolset_method_with_its_argument_model():
    tools = sdk_adapter.registered_tools()
    assert len(tools) == 10
    for tool in tools:
        method = sdk_adapter.toolset_method(tool)
        assert method.method_name == tool.name
        assert hasattr(method.toolset, tool.name)
