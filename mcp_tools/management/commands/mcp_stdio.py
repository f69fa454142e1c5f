"""``manage.py mcp_stdio``: the same tools over stdio, for desktop MCP clients."""

from __future__ import annotations

import logging
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from mcp_tools.caller import Caller, current_caller
from mcp_tools.server import server
from retail.errors import InvalidInput
from retail.services.tokens import manager_resolve


class Command(BaseCommand):
    help = (
        "Serve Zava's MCP tools over stdio (for Claude Desktop and other local clients). "
        "The identity is given by the local operator with --manager; every tool call runs "
        "in that manager's tenant context, exactly as over HTTP. Logs go to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--manager", required=True, help="The manager to act for: RLS UUID or email."
        )

    def handle(self, *args, **options) -> None:
        try:
            manager = manager_resolve(options["manager"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        if not manager.is_active:
            raise CommandError(f"Manager {manager.email} is inactive.")
        # stdout carries the protocol: every log line must go to stderr.
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, force=True)
        current_caller.set(
            Caller(manager_id=manager.id, token_id=None, request_id="stdio", transport="stdio")
        )
        self.stderr.write(f"Zava MCP over stdio for {manager} ({manager.id})")
        server().run(transport="stdio")
