"""System checks of the MCP surface: tool names against MCP 2025-11-25's rules (zava.E201,
W201), and the order of the middleware (zava.E202)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from mcp_tools.checks import REQUEST_LOG, check_middleware_order, tool_name_messages
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


def test_the_settings_put_the_request_log_before_the_mcp_middleware():
    assert [m for m in run_checks() if m.id == "zava.E202"] == []


def test_the_mcp_middleware_before_the_request_log_stops_manage_py(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != REQUEST_LOG] + [REQUEST_LOG]
    with pytest.raises(SystemCheckError, match=r"zava\.E202"):
        call_command("check")
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != REQUEST_LOG]
    assert [m.id for m in check_middleware_order()] == ["zava.E202"]
