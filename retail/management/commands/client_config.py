"""``manage.py client_config``: a ready MCP client entry for a manager, with a fresh token."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from retail.errors import InvalidInput
from retail.services.tokens import manager_resolve, token_issue


class Command(BaseCommand):
    help = (
        "Print MCP client configuration for a manager: a .vscode/mcp.json entry (HTTP, with a "
        "freshly issued bearer token) and a Claude Desktop entry (stdio through manage.py "
        "mcp_stdio), each also in its sign-in form: the URL alone, the client opens a browser "
        "and the manager signs in (OAuth). The token is shown only here; revoke it with "
        "revoke_token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--manager", required=True, help="RLS UUID or email of the manager.")
        parser.add_argument(
            "--url",
            default="http://localhost:8000/mcp",
            help="The server's MCP endpoint (default: http://localhost:8000/mcp).",
        )
        parser.add_argument(
            "--client",
            choices=["vscode", "claude", "all"],
            default="all",
            help="Which client entries to print (default: all).",
        )
        parser.add_argument("--expires-days", type=int, default=None, help="Token lifetime.")

    def handle(self, *args, **options) -> None:
        try:
            manager = manager_resolve(options["manager"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        server_name = "zava-" + manager.email.split("@")[0].replace(".", "-")
        if options["client"] in ("vscode", "all"):
            try:
                issued = token_issue(
                    manager=manager, name="vscode", expires_days=options["expires_days"]
                )
            except InvalidInput as exc:
                raise CommandError(exc.message) from exc
            vscode = {
                "servers": {
                    server_name: {
                        "type": "http",
                        "url": options["url"],
                        "headers": {"Authorization": f"Bearer {issued.raw}"},
                    }
                }
            }
            self.stdout.write("// .vscode/mcp.json")
            self.stdout.write(json.dumps(vscode, indent=2))
            sign_in = {"servers": {server_name: {"type": "http", "url": options["url"]}}}
            self.stdout.write("// .vscode/mcp.json, signing in instead (no token)")
            self.stdout.write(json.dumps(sign_in, indent=2))
        if options["client"] in ("claude", "all"):
            claude = {
                "mcpServers": {
                    server_name: {
                        "command": sys.executable,
                        "args": [
                            str(Path(settings.BASE_DIR) / "manage.py"),
                            "mcp_stdio",
                            "--manager",
                            str(manager.id),
                        ],
                    }
                }
            }
            self.stdout.write("// claude_desktop_config.json")
            self.stdout.write(json.dumps(claude, indent=2))
            connector = {"name": server_name, "url": options["url"]}
            self.stdout.write("// Claude custom connector (Settings > Connectors), signing in")
            self.stdout.write(json.dumps(connector, indent=2))
