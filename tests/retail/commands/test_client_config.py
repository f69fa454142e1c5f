"""client_config prints working client entries with a fresh token."""

from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from retail.services.tokens import token_authenticate
from tests.identities import BELLEVUE


def _blocks(text: str) -> dict[str, dict]:
    """Split the output into its commented JSON blocks."""
    blocks, name, lines = {}, None, []
    for line in text.splitlines():
        if line.startswith("// "):
            if name:
                blocks[name] = json.loads("\n".join(lines))
            name, lines = line[3:], []
        else:
            lines.append(line)
    blocks[name] = json.loads("\n".join(lines))
    return blocks


def test_client_config_gives_a_vscode_http_entry_and_a_claude_stdio_entry(database):
    out = StringIO()
    call_command(
        "client_config", "--manager", BELLEVUE.email, "--url", "http://zava.test/mcp", stdout=out
    )
    blocks = _blocks(out.getvalue())

    vscode = blocks[".vscode/mcp.json"]["servers"]["zava-bellevue-manager"]
    assert vscode["type"] == "http"
    assert vscode["url"] == "http://zava.test/mcp"
    token = vscode["headers"]["Authorization"].removeprefix("Bearer ")
    assert token_authenticate(token).manager_email == BELLEVUE.email

    claude = blocks["claude_desktop_config.json"]["mcpServers"]["zava-bellevue-manager"]
    assert claude["args"][1:3] == ["mcp_stdio", "--manager"]
