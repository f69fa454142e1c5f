"""Fixtures the MCP tests share: the live server's /mcp URL and a store manager's token."""

from __future__ import annotations

import pytest

from tests.identities import SEATTLE


@pytest.fixture
def url(zava_server) -> str:
    return zava_server.mcp_url


@pytest.fixture
def token(tokens) -> str:
    """The Seattle store manager's bearer token: one store, the attacker's usual seat."""
    return tokens[SEATTLE.email]
