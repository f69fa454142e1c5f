"""``manage.py mcp_stdio``: the same tools over stdio, for desktop MCP clients."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from dataclasses import replace
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from mcp import types

from mcp_tools import dispatch, eras
from mcp_tools.caller import Caller
from mcp_tools.eras import EnvelopeRefused
from mcp_tools.jsonrpc import Reply, error_reply
from retail.errors import InvalidInput
from retail.services.tokens import manager_resolve


class Command(BaseCommand):
    help = (
        "Serve Zava's MCP tools over stdio (for Claude Desktop and other local clients). "
        "The identity is given by the local operator with --manager; every request runs "
        "through the same dispatch as over HTTP, in that manager's tenant context, and is "
        "audited the same way. Both eras of MCP are spoken: 2025 clients open with "
        "initialize, 2026-07-28 clients send each request with its own _meta (and may "
        "probe with server/discover). Messages are JSON, one per line; logs go to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--manager", required=True, help="The manager to act for: RLS UUID or email."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            manager = manager_resolve(options["manager"])
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        if not manager.is_active:
            raise CommandError(f"Manager {manager.email} is inactive.")
        # stdout carries the protocol: every log line must go to stderr.
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING, force=True)
        caller = Caller(manager_id=manager.id, token_id=None, request_id="", transport="stdio")
        self.stderr.write(f"Zava MCP over stdio for {manager} ({manager.id})")
        serve(caller, sys.stdin, sys.stdout, origin=settings.ZAVA_PUBLIC_URL or None)


def serve(caller: Caller, incoming: IO[str], outgoing: IO[str], *, origin: str | None) -> None:
    """Answer each line of ``incoming`` until it ends; each request gets its own id."""
    for line in incoming:
        if not line.strip():
            continue
        reply = _answer(line, replace(caller, request_id=uuid.uuid4().hex), origin)
        if reply.message is not None:
            outgoing.write(json.dumps(reply.message, separators=(",", ":")) + "\n")
            outgoing.flush()


def _answer(line: str, caller: Caller, origin: str | None) -> Reply:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return error_reply(None, types.PARSE_ERROR, "Parse error: the line is not JSON.")
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return error_reply(None, types.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.")
    try:
        envelope = eras.read_envelope(message)  # stdio has no headers: the body says
    except EnvelopeRefused as refused:
        reply = refused.reply(message)
    else:
        reply = dispatch.answer(message, caller, origin, envelope)
    if "id" not in message and "method" in message:
        return Reply(None)  # a notification is never answered on stdio, even refused
    return reply
