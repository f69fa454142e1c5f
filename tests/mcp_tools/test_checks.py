"""The system check of tool names against MCP 2025-11-25's rules (zava.E201, W201)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from mcp_tools.checks import tool_name_messages
from mcp_tools.registry import registry


def test_every_registered_tool_name_passes():
    assert [m for m in run_checks() if m.id in ("zava.E201", "zava.W201")] == []
    assert tool_name_messages(registry().tools) == []


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "Tool name cannot be empty"),
        ("x" * 129, "exceeds maximum length of 128"),
        ("sales query", "invalid characters: ' '"),
        ("sales/query", "invalid characters: '/'"),
        ("ventas_año", "invalid characters: 'ñ'"),
    ],
)
def test_a_name_the_spec_refuses_is_an_error(name, problem):
    (message,) = tool_name_messages([name])
    assert message.id == "zava.E201"
    assert problem in message.msg
    assert "A-Z, a-z, 0-9" in message.hint


def test_a_name_the_spec_advises_against_is_a_warning():
    (message,) = tool_name_messages(["-sales.query."])
    assert message.id == "zava.W201"
    assert "starts or ends with a dash" in message.msg


def test_a_bad_tool_name_stops_manage_py(monkeypatch):
    tools = registry().tools
    monkeypatch.setitem(tools, "get sales!", tools["get_current_utc_date"])
    with pytest.raises(SystemCheckError, match=r"zava\.E201"):
        call_command("check")
