"""Prometheus metrics: protected by a secret, counted per call, summed across gunicorn workers."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.observability import metrics
from tests.identities import SEATTLE
from tests.infrastructure.observability.conftest import (
    FAKE_TOKEN,
    METRICS_TOKEN,
    SALES_SQL,
    sample,
    scrape,
    tool_call,
)
from tests.mcp_client import post


def _mcp(client: Client, token: str, body: dict, **headers: str):
    return client.post(
        "/mcp",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json", **headers},
    )


@override_settings(ZAVA_METRICS_TOKEN="")
def test_metrics_do_not_exist_without_a_configured_secret():
    assert Client().get("/metrics").status_code == 404


@override_settings(ZAVA_METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_need_the_scraper_secret():
    before = REGISTRY.get_sample_value("zava_auth_failures_total", {"endpoint": "metrics"}) or 0
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer not-the-secret"})
    assert wrong.status_code == 401
    assert wrong["WWW-Authenticate"].startswith("Bearer")
    after = REGISTRY.get_sample_value("zava_auth_failures_total", {"endpoint": "metrics"})
    assert after == before + 2
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"zava_tool_calls_total" in response.content


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@override_settings(ZAVA_METRICS_TOKEN=METRICS_TOKEN)
def test_metrics_count_calls_refusals_auth_failures_cache_pools_and_embeddings(database, tokens):
    client = Client()
    ok_before = _value("zava_tool_calls_total", tool="get_current_utc_date", outcome="ok")
    refused_before = _value("zava_sql_guard_refusals_total", reason="not_select")
    query_before = _value("zava_query_duration_seconds_count", outcome="ok")
    auth_before = _value("zava_auth_failures_total", endpoint="mcp")
    embed_before = _value("zava_embedding_calls_total", provider="local", outcome="ok")
    unknown_before = _value("zava_tool_calls_total", tool="(unknown)", outcome="refused")

    token = tokens[SEATTLE.email]
    assert _mcp(client, token, tool_call("get_current_utc_date", {})).status_code == 200
    _mcp(client, token, tool_call("execute_sales_query", {"postgresql_query": "DELETE FROM x"}))
    _mcp(client, token, tool_call("execute_sales_query", {"postgresql_query": SALES_SQL}))
    _mcp(client, token, tool_call(f"no_such_tool_{uuid.uuid4().hex}", {}))
    search = {"query_description": f"paint roller {uuid.uuid4().hex}"}
    assert _mcp(client, token, tool_call("semantic_search_products", search)).status_code == 200
    assert _mcp(client, FAKE_TOKEN, tool_call("get_current_utc_date", {})).status_code == 401
    metrics.CACHE_HITS.labels(cache="schema").inc()

    assert _value("zava_tool_calls_total", tool="get_current_utc_date", outcome="ok") == (
        ok_before + 1
    )
    assert _value("zava_sql_guard_refusals_total", reason="not_select") == refused_before + 1
    assert _value("zava_query_duration_seconds_count", outcome="ok") == query_before + 1
    assert _value("zava_auth_failures_total", endpoint="mcp") == auth_before + 1
    assert _value("zava_embedding_calls_total", provider="local", outcome="ok") == (
        embed_before + 1
    )
    # Made-up tool names share one label: clients cannot grow the metric without bound.
    assert _value("zava_tool_calls_total", tool="(unknown)", outcome="refused") == (
        unknown_before + 1
    )

    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    families = {f.name: f for f in text_string_to_metric_families(scraped.content.decode())}
    for name in (
        "zava_tool_calls",
        "zava_tool_duration_seconds",
        "zava_query_duration_seconds",
        "zava_sql_guard_refusals",
        "zava_auth_failures",
        "zava_cache_hits",
        "zava_cache_misses",
        "zava_embedding_calls",
        "zava_http_requests",
    ):
        assert name in families, name
    assert any(s.labels == {"cache": "schema"} for s in families["zava_cache_hits"].samples)
    pools = {s.labels["alias"]: s.value for s in families["zava_db_pool_pool_size"].samples}
    assert set(pools) == {"default", "tenant"}
    assert all(size >= 1 for size in pools.values())
    max_sizes = {s.labels["alias"]: s.value for s in families["zava_db_pool_pool_max"].samples}
    assert max_sizes["tenant"] >= 1


def test_metrics_are_protected_on_the_real_server(metrics_server):
    url = metrics_server.server.url
    assert httpx.get(f"{url}/metrics").status_code == 401
    bad = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert "zava_tool_calls" in scrape(url)


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_workers(metrics_server, tokens):
    server, directory = metrics_server.server, metrics_server.directory
    assert not (directory / "counter_999999.db").exists()  # cleared at server start
    token = tokens[SEATTLE.email]
    labels = {"tool": "get_current_utc_date", "outcome": "ok"}
    before = sample(scrape(server.url)["zava_tool_calls"], **labels)

    def call(_: int) -> int:
        body = tool_call("get_current_utc_date", {})
        return post(server.mcp_url, body, token=token).status_code

    made = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Until both workers have served tool calls (each writes its own files).
        while made < 400:
            assert set(pool.map(call, range(40))) == {200}
            made += 40
            if len(list(directory.glob("counter_*.db"))) >= 2 and made >= 80:
                break
    workers = {path.stem.split("_")[-1] for path in directory.glob("counter_*.db")}
    assert len(workers) >= 2, workers

    for _ in range(6):  # any worker may answer the scrape; every answer has the sum
        assert sample(scrape(server.url)["zava_tool_calls"], **labels) == before + made
    pools = scrape(server.url)["zava_db_pool_pool_max"]
    per_worker = settings.DATABASES["tenant"]["OPTIONS"]["pool"]["max_size"]
    assert sample(pools, alias="tenant") == 2 * per_worker  # both workers' pools, summed
