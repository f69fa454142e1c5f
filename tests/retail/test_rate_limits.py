"""Per-token limits answer 429 with Retry-After; so do repeated failed logins. The
counters count exactly, across connections at once, and forget old windows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection, connections
from django.test import Client

from retail.models import AccessToken, Manager
from retail.rate_limits import TABLE, WINDOW_SECONDS, count_hit, counted_lookup
from retail.services.tokens import token_issue
from tests.conftest import LiveServer, gunicorn_server, server_environment
from tests.identities import BELLEVUE, SEATTLE
from tests.mcp_client import JSON_HEADERS

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


@pytest.fixture(autouse=True)
def fresh_counters(fresh_rate_limits):  # the counters live in the database
    yield


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
    assert refused["Content-Type"] == "application/json"
    assert refused.json()["error"]["message"].startswith("Too many requests")
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


@pytest.fixture
def two_worker_server(database, tmp_path) -> Iterator[LiveServer]:
    """gunicorn as deployed: two worker processes, small limits, the default cache."""
    environment = server_environment(
        WEB_CONCURRENCY="2",
        GUNICORN_THREADS="2",
        ZAVA_RATE_LIMIT_PER_MINUTE="5",
        ZAVA_AUTH_FAILURES_PER_MINUTE="3",
    )
    environment.pop("CACHE_URL", None)
    with gunicorn_server(tmp_path / "gunicorn.log", environment) as server:
        yield server


def _fresh_connection_statuses(url: str, authorization: str, count: int) -> list[int]:
    """``count`` pings, each on a new connection, so any worker may take it."""
    statuses = []
    for _ in range(count):
        with httpx.Client(timeout=30) as client:
            response = client.post(
                url,
                json=PING,
                headers={**JSON_HEADERS, "Authorization": authorization},
            )
            statuses.append(response.status_code)
    return statuses


def _start_of_a_window() -> None:
    """Wait for a fresh one-minute window when this one is nearly over (never asserts time)."""
    into = time.time() % WINDOW_SECONDS
    if into > WINDOW_SECONDS - 20:
        time.sleep(WINDOW_SECONDS - into + 0.5)


def test_limits_hold_across_gunicorn_workers(two_worker_server, database):
    """Every worker counts in the one shared cache: the limit is 5, not 5 per worker."""
    manager = Manager.objects.get(email=SEATTLE.email)
    issued = token_issue(manager=manager, name="rate-limit-workers")
    try:
        _start_of_a_window()
        url = two_worker_server.mcp_url
        statuses = _fresh_connection_statuses(url, f"Bearer {issued.raw}", 16)
        assert statuses == [200] * 5 + [429] * 11
        failures = _fresh_connection_statuses(url, "Bearer zava_" + "y" * 43, 8)
        assert failures == [401] * 3 + [429] * 5
    finally:
        AccessToken.objects.filter(name="rate-limit-workers").delete()


def test_hits_count_up_one_by_one_per_bucket_and_window(database):
    assert [count_hit("token:1", 600) for _ in range(3)] == [1, 2, 3]
    assert count_hit("token:2", 600) == 1  # another bucket
    assert count_hit("token:1", 660) == 1  # the next window


def test_hits_from_many_connections_at_once_are_each_counted_once(database):
    """Eight threads (eight connections) hitting one bucket get 1..N with no repeats."""

    def hit(_: int) -> int:
        try:
            return count_hit("token:busy", 1200)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(hit, range(80)))
    assert sorted(counts) == list(range(1, 81))


def test_a_new_window_sweeps_the_counters_of_earlier_ones(database):
    count_hit("address:10.0.0.1", 0)
    count_hit("address:10.0.0.2", 60)
    count_hit("token:1", 120)  # first hit of a later window
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT bucket, window_start FROM {TABLE}")
        assert cursor.fetchall() == [("token:1", 120)]


def _counters() -> list[tuple[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT bucket, hits FROM {TABLE} ORDER BY bucket")
        return cursor.fetchall()


def test_a_counted_lookup_returns_its_row_and_counts_it_in_its_bucket(database, rate_limit_clock):
    lookup = "SELECT %(key)s::int AS bucket_key, 'seattle' AS who"
    verdicts = []
    for _ in range(3):
        row, verdict = counted_lookup(lookup, {"key": 7}, "token:", 2)
        assert row == (7, "seattle")  # the lookup's own columns, nothing added
        verdicts.append(verdict.allowed)
    assert verdicts == [True, True, False]
    assert _counters() == [("token:7", 3)]  # the bucket check_token(7) counts in
    refused = counted_lookup(lookup, {"key": 7}, "token:", 2)[1]
    assert 1 <= refused.retry_after <= WINDOW_SECONDS + 1


def test_a_counted_lookup_that_finds_nothing_counts_nothing(database, rate_limit_clock):
    row, verdict = counted_lookup("SELECT 1 AS bucket_key WHERE false", {}, "token:", 1)
    assert (row, verdict.allowed) == (None, True)
    assert _counters() == []
