"""Which revision of MCP a message speaks, and what the 2026-07-28 revision asks of it.

Two eras share ``/mcp`` and stdio. A *legacy* client (2024-11-05 .. 2025-11-25) opens
with ``initialize`` and names its version in the ``MCP-Protocol-Version`` header; it
is served exactly as before. A *modern* client (2026-07-28, stateless) sends no
handshake: every request carries its version and capabilities in
``params._meta`` (the ``io.modelcontextprotocol/*`` keys below), and the answer is
built for that request alone. A message is modern when its ``_meta`` names a
protocol version or, over HTTP, when its header names a modern one.

:func:`read_envelope` checks the modern envelope (the body only; the HTTP endpoint
checks the headers against it) and returns what it says, or refuses it with the
revision's own errors: -32602 for a missing or malformed ``_meta``, -32022 for a
version not spoken here, with the supported versions in ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp import types
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

from mcp_tools.jsonrpc import Reply, error_reply, request_id_of

PROTOCOL_VERSION_KEY = "io.modelcontextprotocol/protocolVersion"
CLIENT_CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities"
CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo"
SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo"

# The initialize handshake's versions, as the SDK (mcp 1.x) negotiates them.
HANDSHAKE_VERSIONS: tuple[str, ...] = tuple(SUPPORTED_PROTOCOL_VERSIONS)
# Versions whose requests carry their own envelope, with no handshake.
MODERN_VERSIONS: tuple[str, ...] = ("2026-07-28",)
# Newest first, as ``server/discover`` and the -32022 error list them.
SUPPORTED_VERSIONS: tuple[str, ...] = (*reversed(MODERN_VERSIONS), *reversed(HANDSHAKE_VERSIONS))

# Error codes the 2026-07-28 revision defines (its -32020 .. -32099 range).
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

_CLIENT_TEXT_CHARS = 100  # of a client's name and version, for the audit


@dataclass(frozen=True)
class Envelope:
    """What a modern request says about itself, from its ``_meta``."""

    version: str
    client_capabilities: dict[str, Any]
    client: str = ""  # "name version" from clientInfo: recorded, never trusted


class EnvelopeRefused(Exception):
    """A modern request refused before any method ran: HTTP 400 and this error."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def reply(self, message: dict[str, Any]) -> Reply:
        """The answer to ``message``: this error, with HTTP 400 where there is HTTP."""
        return error_reply(
            request_id_of(message), self.code, self.message, status=400, data=self.data
        )


def unsupported_version(requested: str) -> EnvelopeRefused:
    """-32022, naming the versions spoken here (the client picks one and retries)."""
    shown = requested[:32]
    return EnvelopeRefused(
        UNSUPPORTED_PROTOCOL_VERSION,
        f"Unsupported protocol version {shown!r}; supported: {', '.join(SUPPORTED_VERSIONS)}.",
        {"supported": list(SUPPORTED_VERSIONS), "requested": shown},
    )


def is_modern(version: str | None) -> bool:
    return version in MODERN_VERSIONS


def request_meta(message: dict[str, Any]) -> Any:
    """``params._meta`` of ``message``, or None when there is none."""
    params = message.get("params")
    return params.get("_meta") if isinstance(params, dict) else None


def declared_version(message: dict[str, Any]) -> Any:
    """The protocol version ``message`` names in its ``_meta`` (None when none)."""
    meta = request_meta(message)
    return meta.get(PROTOCOL_VERSION_KEY) if isinstance(meta, dict) else None


def read_envelope(message: dict[str, Any], header_version: str | None = None) -> Envelope | None:
    """The envelope of a modern ``message``; None for a legacy one.

    ``header_version`` is HTTP's ``MCP-Protocol-Version`` (None on stdio): a modern
    one makes the message modern even when its body forgets the envelope, which is
    then refused rather than served under the older rules.
    """
    meta = request_meta(message)
    body_version = declared_version(message)
    if body_version is None and not is_modern(header_version):
        return None
    if not isinstance(meta, dict) or not isinstance(body_version, str):
        raise EnvelopeRefused(
            types.INVALID_PARAMS,
            f"params._meta must carry {PROTOCOL_VERSION_KEY} and {CLIENT_CAPABILITIES_KEY}.",
        )
    if not is_modern(body_version):
        raise unsupported_version(body_version)
    capabilities = meta.get(CLIENT_CAPABILITIES_KEY)
    if not isinstance(capabilities, dict):
        raise EnvelopeRefused(
            types.INVALID_PARAMS, f"params._meta must carry {CLIENT_CAPABILITIES_KEY}, an object."
        )
    return Envelope(body_version, capabilities, _client(meta.get(CLIENT_INFO_KEY)))


def _client(info: Any) -> str:
    """``clientInfo`` as one short line: optional, and never a reason to refuse."""
    if not isinstance(info, dict):
        return ""
    parts = [info.get("name"), info.get("version")]
    return " ".join(str(part)[:_CLIENT_TEXT_CHARS] for part in parts if isinstance(part, str))
