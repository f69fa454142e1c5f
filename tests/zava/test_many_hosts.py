"""Several web hosts behind a load balancer share nothing but PostgreSQL and Redis.

Two gunicorn servers on two ports stand for two hosts: one PostgreSQL (the test
database), one Redis as ``CACHE_URL``. A token's rate limit and a cached answer live
in Redis, so both hosts see the same ones. ``/metrics`` is per host: each server
counts what it served (its own prometheus-client directory), and the scraper adds
the hosts up, as Prometheus does with ``sum without (instance)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from itertools import cycle, islice

import pytest
import redis

from retail.models import Manager
from retail.rate_limits import WINDOW_SECONDS
from retail.services.tokens import token_issue
from tests.conftest import LiveServer, private_server
from tests.identities import SEATTLE, store_ids
from tests.infrastructure.observability.conftest import METRICS_TOKEN, sample, scrape
from tests.mcp_client import post, rpc, text_json

pytestmark = pytest.mark.redis

BUDGET = 6  # requests per minute and token, on every host together
QUESTION = "SELECT store_id, count(*) AS orders FROM retail.orders GROUP BY 1 ORDER BY 1"


@pytest.fixture(scope="module")
def hosts(seeded, redis_url, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    logs = tmp_path_factory.mktemp("hosts")
    environment = {
        "CACHE_URL": redis_url,
        "ZAVA_RATE_LIMIT_PER_MINUTE": str(BUDGET),
        "ZAVA_METRICS_TOKEN": METRICS_TOKEN,
    }
    with (
        private_server(logs / "a.log", **environment) as first,
        private_server(logs / "b.log", **environment) as second,
    ):
        yield first, second


@pytest.fixture
def fresh_token(database) -> str:
    """A token of its own, so no other test's requests count against its budget."""
    return token_issue(manager=Manager.objects.get(pk=SEATTLE.id), name="many hosts").raw


def _http_requests(host: LiveServer, status: int) -> float:
    samples = scrape(host.url).get("zava_http_requests", [])
    return sample(samples, endpoint="mcp", status=str(status))


def _start_in_a_fresh_window() -> None:
    """The limit counts in fixed windows of the wall clock: begin well inside one, so
    that a window boundary cannot fall between the requests and reset the count."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < 10:
        time.sleep(left + 0.5)


def test_a_token_is_limited_at_one_budget_across_both_hosts(hosts, fresh_token):
    before = {(host.url, status): _http_requests(host, status) for host in hosts
              for status in (200, 429)}  # fmt: skip
    _start_in_a_fresh_window()
    answers = [
        (host, rpc(host.mcp_url, fresh_token, "ping")) for host in islice(cycle(hosts), BUDGET + 2)
    ]
    assert [response.status_code for _, response in answers] == [200] * BUDGET + [429, 429]
    for _, response in answers[BUDGET:]:
        assert int(response.headers["Retry-After"]) >= 1

    for host in hosts:  # each host counted exactly what it served, no more
        served = {
            status: _http_requests(host, status) - before[host.url, status] for status in (200, 429)
        }
        assert served == {200: BUDGET // 2, 429: 1}


def _call_tool(host: LiveServer, token: str, name: str, arguments: dict) -> dict:
    """One tools/call without a session (the server is stateless); the JSON-RPC result."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}  # fmt: skip
    response = post(host.mcp_url, body, token=token)
    assert response.status_code == 200
    if response.headers["content-type"].startswith("text/event-stream"):
        data = next(line for line in response.text.splitlines() if line.startswith("data:"))
        return json.loads(data.removeprefix("data:"))["result"]
    return response.json()["result"]


def _cache_counts(hosts: tuple[LiveServer, ...]) -> dict[tuple[str, str], float]:
    """Query-answer cache hits and misses as each host's /metrics reports them."""
    counts = {}
    for host in hosts:
        scraped = scrape(host.url)
        for outcome in ("hits", "misses"):
            counts[host.url, outcome] = sample(
                scraped.get(f"zava_cache_{outcome}", []), cache="query"
            )
    return counts


def test_an_answer_cached_by_one_host_is_served_by_the_other(hosts, fresh_token, redis_url):
    first, second = hosts
    store = redis.Redis.from_url(redis_url)
    keys_before = len(store.keys("*answer:query:*"))
    before = _cache_counts(hosts)

    made = _call_tool(first, fresh_token, "execute_sales_query", {"postgresql_query": QUESTION})
    served = _call_tool(second, fresh_token, "execute_sales_query", {"postgresql_query": QUESTION})

    assert not made["isError"] and not served["isError"]
    answers = [text_json(answer["content"][0]["text"], is_error=False) for answer in (made, served)]
    assert answers[0] == answers[1]  # the same data, each in a fence of its own
    assert [row[0] for row in answers[0]["r"]] == list(store_ids(SEATTLE))
    assert len(store.keys("*answer:query:*")) == keys_before + 1  # one answer, in Redis
    after = _cache_counts(hosts)
    assert {key: after[key] - before[key] for key in before} == {
        (first.url, "misses"): 1, (first.url, "hits"): 0,
        (second.url, "misses"): 0, (second.url, "hits"): 1,
    }  # fmt: skip


def test_each_host_reports_only_its_own_calls(hosts, fresh_token):
    def calls(host: LiveServer) -> float:
        samples = scrape(host.url).get("zava_tool_calls", [])
        return sample(samples, tool="get_current_utc_date", outcome="ok")

    before = [calls(host) for host in hosts]
    for host, count in zip(hosts, (1, 2), strict=True):
        for _ in range(count):
            _call_tool(host, fresh_token, "get_current_utc_date", {})
    assert [calls(host) - seen for host, seen in zip(hosts, before, strict=True)] == [1, 2]
