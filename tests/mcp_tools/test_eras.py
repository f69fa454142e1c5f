"""``mcp_tools.eras``: which era a message speaks, and the 2026-07-28 envelope it needs."""

from __future__ import annotations

import pytest
from mcp import types

from mcp_tools import eras
from mcp_tools.eras import Envelope, EnvelopeRefused
from tests.mcp_client import MODERN, modern_message


def test_a_message_without_an_envelope_is_legacy():
    assert eras.read_envelope({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) is None
    assert eras.read_envelope({"method": "ping", "params": {"_meta": {}}}, "2025-11-25") is None


def test_an_envelope_says_the_version_capabilities_and_client():
    message = modern_message("tools/list")
    message["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"] = {"roots": {}}
    assert eras.read_envelope(message) == Envelope(MODERN, {"roots": {}}, "zava-tests 1.0")


def test_a_modern_header_makes_a_bare_message_modern_and_refused():
    with pytest.raises(EnvelopeRefused) as refused:
        eras.read_envelope({"method": "tools/list"}, MODERN)
    assert refused.value.code == types.INVALID_PARAMS


@pytest.mark.parametrize(
    "meta",
    [
        {"io.modelcontextprotocol/protocolVersion": MODERN},
        {"io.modelcontextprotocol/protocolVersion": MODERN,
         "io.modelcontextprotocol/clientCapabilities": []},
        {"io.modelcontextprotocol/protocolVersion": 20260728,
         "io.modelcontextprotocol/clientCapabilities": {}},
    ],
)  # fmt: skip
def test_an_incomplete_envelope_is_invalid_params(meta):
    with pytest.raises(EnvelopeRefused) as refused:
        eras.read_envelope({"method": "tools/list", "params": {"_meta": meta}})
    assert refused.value.code == types.INVALID_PARAMS


@pytest.mark.parametrize("version", ["2025-11-25", "2099-01-01"])
def test_an_envelope_of_a_version_not_spoken_statelessly_is_32022(version):
    message = modern_message("tools/list")
    message["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = version
    with pytest.raises(EnvelopeRefused) as refused:
        eras.read_envelope(message)
    assert refused.value.code == eras.UNSUPPORTED_PROTOCOL_VERSION
    assert refused.value.data == {"supported": list(eras.SUPPORTED_VERSIONS), "requested": version}


@pytest.mark.parametrize(
    ("info", "recorded"),
    [
        ({"name": "Claude", "version": "2.1"}, "Claude 2.1"),
        ({"name": "x" * 500}, "x" * 100),
        ("not an object", ""),
        ({"name": 7}, ""),
    ],
)
def test_client_info_is_kept_short_and_never_refused(info, recorded):
    message = modern_message("tools/list")
    message["params"]["_meta"]["io.modelcontextprotocol/clientInfo"] = info
    envelope = eras.read_envelope(message)
    assert envelope is not None
    assert envelope.client == recorded


def test_supported_versions_list_both_eras_newest_first():
    assert eras.SUPPORTED_VERSIONS[0] == MODERN
    assert set(eras.HANDSHAKE_VERSIONS) < set(eras.SUPPORTED_VERSIONS)
