"""System checks of the MCP surface: tool names follow the spec's rules, and the
middleware that authenticates ``/mcp`` runs after the one that gives requests their ids.

MCP 2025-11-25 says a tool name is 1-128 characters of ``A-Z a-z 0-9 _ - .``; clients
that enforce it refuse a whole server over one bad name. The rules are the SDK's own
(``mcp.shared.tool_name_validation``). Every ``manage.py`` command runs system checks
first (``migrate`` in ``make run``, ``mcp_stdio``), so a bad name stops the server
before a client meets it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning
from mcp.shared.tool_name_validation import validate_tool_name

from mcp_tools.registry import registry

REQUEST_LOG = "infrastructure.observability.middleware.RequestLogMiddleware"
MCP_AUTH = "mcp_tools.middleware.McpAuthMiddleware"
HINT = "Rename the tool: 1-128 characters of A-Z, a-z, 0-9, '_', '-' and '.' (MCP 2025-11-25)."


@register()
def check_tool_names(**kwargs: Any) -> list[CheckMessage]:
    return tool_name_messages(registry().tools)


def tool_name_messages(names: Iterable[str]) -> list[CheckMessage]:
    """An error per name the spec refuses, a warning per name it advises against."""
    messages: list[CheckMessage] = []
    for name in names:
        result = validate_tool_name(name)
        problems = "; ".join(result.warnings)
        if not result.is_valid:
            messages.append(
                Error(f"Tool name {name[:140]!r}: {problems}.", hint=HINT, id="zava.E201")
            )
        elif result.warnings:
            messages.append(
                CheckWarning(f"Tool name {name!r}: {problems}.", hint=HINT, id="zava.W201")
            )
    return messages


@register()
def check_middleware_order(**kwargs: Any) -> list[CheckMessage]:
    """McpAuthMiddleware audits and answers with the request ids RequestLogMiddleware
    sets, so it must come after it (and the request log wraps every answer)."""
    middleware = list(settings.MIDDLEWARE)
    if MCP_AUTH not in middleware:
        return []
    if REQUEST_LOG in middleware and middleware.index(REQUEST_LOG) < middleware.index(MCP_AUTH):
        return []
    return [
        Error(
            f"{MCP_AUTH} needs {REQUEST_LOG} before it in MIDDLEWARE.",
            hint="Put RequestLogMiddleware first: it gives every request its ids.",
            id="zava.E202",
        )
    ]
