"""Per-token limits answer 429 with Retry-After; so do repeated failed logins."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from mcp_tools.rate_limit import WINDOW_SECONDS
from tests.identities import BELLEVUE, SEATTLE

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


def _post(authorization: str | None):
    headers = {"Accept": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    return Client().post("/mcp", PING, content_type="application/json", headers=headers)


def test_a_token_over_its_limit_gets_429_with_retry_after(
    database, tokens, settings, rate_limit_clock
):
    settings.ZAVA_RATE_LIMIT_PER_MINUTE = 3
    statuses = [_post(f"Bearer {tokens[SEATTLE.email]}").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = _post(f"Bearer {tokens[SEATTLE.email]}")
    # Halfway through the window: retry once the other half has passed.
    half = WINDOW_SECONDS // 2
    assert half <= int(refused["Retry-After"]) <= half + 1
    # Another manager's token has its own budget.
    assert _post(f"Bearer {tokens[BELLEVUE.email]}").status_code == 200


def test_the_next_window_brings_a_fresh_budget(database, tokens, settings, rate_limit_clock):
    settings.ZAVA_RATE_LIMIT_PER_MINUTE = 1
    authorization = f"Bearer {tokens[SEATTLE.email]}"
    assert [_post(authorization).status_code for _ in range(2)] == [200, 429]
    rate_limit_clock.now += WINDOW_SECONDS
    assert [_post(authorization).status_code for _ in range(2)] == [200, 429]


def test_repeated_failed_logins_from_one_address_get_429(database, settings, rate_limit_clock):
    settings.ZAVA_AUTH_FAILURES_PER_MINUTE = 2
    statuses = [_post("Bearer zava_" + "x" * 43).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
