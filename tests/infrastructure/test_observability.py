"""Structured logs and Prometheus metrics, in-process and through real gunicorn servers."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from django.conf import settings
from django.test import Client, override_settings
from pglast.parser import fingerprint
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.observability import gunicorn_hooks, metrics
from infrastructure.observability.logs import (
    JsonFormatter,
    RedactSecretsFilter,
    RequestContextFilter,
    TextFormatter,
    request_id_var,
)
from tests.conftest import private_server
from tests.identities import SEATTLE
from tests.mcp_client import post

SEATTLE_ID = str(SEATTLE.id)  # as logs write it
FAKE_TOKEN = "zava_" + "A" * 20 + "-" + "b" * 22  # token-shaped, 43 characters after zava_
METRICS_TOKEN = secrets.token_urlsafe(32)
SALES_SQL = "SELECT store_id, count(*) AS n FROM retail.orders GROUP BY store_id ORDER BY 1"


def _call(name: str, arguments: dict, request_id: int = 1) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def _record(message: str = "hello %s", args: tuple = ("world",), **extra) -> logging.LogRecord:
    record = logging.LogRecord("zava.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


# --- Formatters and filters ---------------------------------------------------------


def test_the_json_formatter_writes_one_object_with_the_extras():
    line = JsonFormatter().format(
        _record(tool="execute_sales_query", rows=3, duration_ms=1.5, request=object(), none=None)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "zava.test"
    assert entry["ts"].endswith("+00:00")
    assert entry["tool"] == "execute_sales_query"
    assert entry["rows"] == 3
    assert entry["duration_ms"] == 1.5
    assert "request" not in entry  # Django's request object never reaches a line
    assert "none" not in entry


def test_an_exception_stays_on_one_json_line():
    try:
        raise ValueError("bad thing")
    except ValueError:
        record = _record()
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad thing" in entry["exc"]


def test_tokens_are_redacted_from_message_arguments_extras_and_tracebacks():
    try:
        raise RuntimeError(f"failed for {FAKE_TOKEN}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = _record(
        "token %s in %s",
        (FAKE_TOKEN, "Authorization: Bearer some-metrics-secret"),
        sql=f"SELECT '{FAKE_TOKEN}'",
        request_id=FAKE_TOKEN,
    )
    record.exc_info = exc_info
    assert RedactSecretsFilter().filter(record)
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert FAKE_TOKEN not in line
        assert "some-metrics-secret" not in line
        assert "zava_[REDACTED]" in line
    # The formatters redact on their own too, for handlers configured without the filter.
    bare = _record("header %s", (f"Bearer {FAKE_TOKEN}",))
    assert FAKE_TOKEN not in JsonFormatter().format(bare)


def test_the_text_formatter_for_debug_shows_extras_as_key_value():
    line = TextFormatter().format(_record(tool="get_current_utc_date", outcome="ok"))
    assert line.endswith("zava.test: hello world [tool=get_current_utc_date outcome=ok]")


def test_records_carry_the_current_request_id():
    record = _record()
    reset = request_id_var.set("req-12345678")
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(reset)
    assert record.request_id == "req-12345678"


def test_the_console_handler_is_configured_to_redact_and_format():
    expected = JsonFormatter if settings.ZAVA_LOG_FORMAT == "json" else TextFormatter
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    console = [h for h in handlers if isinstance(h.formatter, expected)]
    assert console, handlers
    assert any(isinstance(f, RedactSecretsFilter) for f in console[0].filters)
    assert any(isinstance(f, RequestContextFilter) for f in console[0].filters)


# --- In-process: slow calls and the /metrics view -------------------------------------


def _mcp(client: Client, token: str, body: dict, **headers: str):
    return client.post(
        "/mcp",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json", **headers},
    )


@override_settings(ZAVA_SLOW_QUERY_MS=0)
def test_slow_calls_are_logged_at_warning_with_their_fingerprint(database, tokens, caplog):
    sql = "SELECT count(*) FROM retail.orders WHERE store_id = 1"
    with caplog.at_level(logging.INFO):
        response = _mcp(
            Client(), tokens[SEATTLE.email], _call("execute_sales_query", {"postgresql_query": sql})
        )
    assert response.status_code == 200
    slow = [r for r in caplog.records if r.name == "zava.mcp.slow"]
    assert len(slow) == 1
    assert slow[0].levelno == logging.WARNING
    assert slow[0].sql_fingerprint == fingerprint(sql)
    assert slow[0].tool == "execute_sales_query"
    assert slow[0].duration_ms >= 0
    assert slow[0].manager_id == SEATTLE_ID
    assert slow[0].request_id == response["X-Request-ID"]


def test_fast_calls_log_no_warning(database, tokens, caplog):
    with caplog.at_level(logging.INFO):
        _mcp(Client(), tokens[SEATTLE.email], _call("get_current_utc_date", {}))
    assert not [r for r in caplog.records if r.name == "zava.mcp.slow"]


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
    assert _mcp(client, token, _call("get_current_utc_date", {})).status_code == 200
    _mcp(client, token, _call("execute_sales_query", {"postgresql_query": "DELETE FROM x"}))
    _mcp(client, token, _call("execute_sales_query", {"postgresql_query": SALES_SQL}))
    _mcp(client, token, _call(f"no_such_tool_{uuid.uuid4().hex}", {}))
    search = {"query_description": f"paint roller {uuid.uuid4().hex}"}
    assert _mcp(client, token, _call("semantic_search_products", search)).status_code == 200
    assert _mcp(client, FAKE_TOKEN, _call("get_current_utc_date", {})).status_code == 401
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


# --- A real gunicorn with two workers -----------------------------------------------------


@pytest.fixture(scope="module")
def metrics_server(seeded, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prometheus")
    (directory / "counter_999999.db").write_bytes(b"left over from an earlier run")
    log = tmp_path_factory.mktemp("metrics-server") / "gunicorn.log"
    with private_server(
        log,
        WEB_CONCURRENCY="2",
        ZAVA_METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    ) as server:
        yield SimpleNamespace(server=server, directory=directory)


def _log_records(log: Path, request_id: str, *, count: int) -> list[dict]:
    """JSON log lines of one request, waiting briefly for the worker to write them."""
    deadline = time.monotonic() + 10
    while True:
        records = []
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("request_id") == request_id:
                    records.append(entry)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


def _tool_lines(records: list[dict]) -> list[dict]:
    return [r for r in records if r["logger"] == "zava.mcp" and r["msg"].startswith("tool call")]


def test_a_tool_call_logs_one_request_line_and_one_tool_line(metrics_server, tokens):
    server = metrics_server.server
    client_id = f"obs-{uuid.uuid4().hex}"
    response = post(
        server.mcp_url,
        _call("execute_sales_query", {"postgresql_query": SALES_SQL}),
        token=tokens[SEATTLE.email],
        headers={"X-Request-ID": client_id},
    )
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert request_id != client_id  # the server makes its own; the client's is kept apart
    assert response.headers["X-Client-Request-ID"] == client_id

    records = _log_records(server.log, request_id, count=2)
    http = [r for r in records if r["logger"] == "zava.http"]
    tool = _tool_lines(records)
    assert len(http) == 1, records
    assert len(tool) == 1, records
    assert {key: http[0].get(key) for key in ("method", "path", "status", "manager_id")} == {
        "method": "POST",
        "path": "/mcp",
        "status": 200,
        "manager_id": SEATTLE_ID,
    }
    assert http[0]["duration_ms"] > 0
    assert http[0]["client_request_id"] == client_id
    assert tool[0]["tool"] == "execute_sales_query"
    assert tool[0]["outcome"] == "ok"
    assert tool[0]["error_code"] == ""
    assert tool[0]["rows"] == 1  # Seattle sees one store
    assert tool[0]["manager_id"] == SEATTLE_ID
    assert tool[0]["duration_ms"] > 0
    assert tool[0]["sql_fingerprint"] == fingerprint(SALES_SQL)
    assert tool[0]["sql"] == SALES_SQL


def test_refusals_log_their_code_and_a_fingerprint_or_a_hash(metrics_server, tokens):
    server = metrics_server.server
    refused = post(
        server.mcp_url,
        _call("execute_sales_query", {"postgresql_query": "DELETE FROM retail.orders"}),
        token=tokens[SEATTLE.email],
    ).headers["X-Request-ID"]
    unparsed = post(
        server.mcp_url,
        _call("execute_sales_query", {"postgresql_query": "SELECT 1\x00; DROP TABLE x"}),
        token=tokens[SEATTLE.email],
    ).headers["X-Request-ID"]
    (line,) = _tool_lines(_log_records(server.log, refused, count=2))
    assert line["outcome"] == "refused"
    assert line["error_code"] == "validation_error"
    assert line["reason"] == "not_select"
    assert line["sql_fingerprint"] == fingerprint("DELETE FROM retail.orders")
    (line,) = _tool_lines(_log_records(server.log, unparsed, count=2))
    assert line["reason"] == "syntax_error"
    assert "sql_fingerprint" not in line
    assert len(line["sql_hash"]) == 16


def test_no_token_reaches_the_log_wherever_a_client_puts_it(metrics_server, tokens):
    server = metrics_server.server
    token = tokens[SEATTLE.email]
    # The token as request id, inside the SQL, and a wrong token in the header.
    response = post(
        server.mcp_url,
        _call("execute_sales_query", {"postgresql_query": f"SELECT '{token}' AS t"}),
        token=token,
        headers={"X-Request-ID": token},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] != token  # a fresh id replaced it
    post(server.mcp_url, _call("get_current_utc_date", {}), token=FAKE_TOKEN)
    httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    records = _log_records(server.log, response.headers["X-Request-ID"], count=2)
    assert any(r.get("sql", "").startswith("SELECT 'zava_[REDACTED]'") for r in records)
    text = server.log.read_text()
    assert token not in text
    assert FAKE_TOKEN not in text
    assert METRICS_TOKEN not in text


def _scrape(url: str) -> dict[str, list]:
    response = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def _sample(samples: list, **labels: str) -> float:
    return sum(s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_are_protected_on_the_real_server(metrics_server):
    url = metrics_server.server.url
    assert httpx.get(f"{url}/metrics").status_code == 401
    bad = httpx.get(f"{url}/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert "zava_tool_calls" in _scrape(url)


@pytest.mark.slow
def test_metrics_add_up_across_gunicorn_workers(metrics_server, tokens):
    server, directory = metrics_server.server, metrics_server.directory
    assert not (directory / "counter_999999.db").exists()  # cleared at server start
    token = tokens[SEATTLE.email]
    labels = {"tool": "get_current_utc_date", "outcome": "ok"}
    before = _sample(_scrape(server.url)["zava_tool_calls"], **labels)

    def call(_: int) -> int:
        body = _call("get_current_utc_date", {})
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
        assert _sample(_scrape(server.url)["zava_tool_calls"], **labels) == before + made
    pools = _scrape(server.url)["zava_db_pool_pool_max"]
    per_worker = settings.DATABASES["tenant"]["OPTIONS"]["pool"]["max_size"]
    assert _sample(pools, alias="tenant") == 2 * per_worker  # both workers' pools, summed


def test_the_gunicorn_hooks_start_clean_and_forget_dead_workers(tmp_path, monkeypatch):
    # The hooks write both variables into os.environ. delenv alone records nothing to
    # undo for a variable that is not set, so it would leak into later tests' servers.
    for name in ("PROMETHEUS_MULTIPROC_DIR", "ZAVA_PROMETHEUS_DIR_OWNED"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    dead = tmp_path / "999999999"
    dead.mkdir()
    (dead / "counter_1.db").write_bytes(b"old")

    path = gunicorn_hooks.prepare_multiprocess_dir(tmp_path)
    assert path.parent == tmp_path and path.is_dir() and not list(path.iterdir())
    assert not dead.exists()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)

    (path / "gauge_livesum_4242.db").write_bytes(b"")
    (path / "counter_4242.db").write_bytes(b"")
    gunicorn_hooks.child_exit(None, SimpleNamespace(pid=4242))
    assert not (path / "gauge_livesum_4242.db").exists()
    assert (path / "counter_4242.db").exists()  # a dead worker's counts still count

    gunicorn_hooks.on_exit(None)
    assert not path.exists()
