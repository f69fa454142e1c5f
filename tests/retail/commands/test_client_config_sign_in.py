"""client_config also prints the sign-in form of each entry: the URL alone, no token."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from tests.retail.commands.test_client_config import BELLEVUE, _blocks


def test_client_config_prints_sign_in_entries_without_a_token(database):
    out = StringIO()
    call_command(
        "client_config", "--manager", BELLEVUE.email, "--url", "https://zava.test/mcp", stdout=out
    )
    blocks = _blocks(out.getvalue())

    vscode = blocks[".vscode/mcp.json, signing in instead (no token)"]["servers"]
    assert vscode == {"zava-bellevue-manager": {"type": "http", "url": "https://zava.test/mcp"}}
    connector = blocks["Claude custom connector (Settings > Connectors), signing in"]
    assert connector == {"name": "zava-bellevue-manager", "url": "https://zava.test/mcp"}
    assert "zava_" not in str(vscode) + str(connector)
