"""Fault injection: PostgreSQL stops during a stream of calls and comes back, and a
tenant connection dies under a request.

The stop-and-start tests run their own embedded PostgreSQL and their own gunicorn,
so stopping the database disturbs nothing else. While the database is down, every
request that reads data (each of the ten tools, each resource, and a prompt) must
fail fast and cleanly (503 with Retry-After, or a typed "unavailable" tool error,
never a 500 or a hang); once it is back, each must succeed again without restarting
the server, and no transaction or role may be left behind.

The lost-connection test ends the tenant connection's backend (pg_terminate_backend,
as the cluster's superuser) right after a request's tenant context opened: the
request must run again on a fresh connection and answer as if nothing had happened.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings
from django.test import Client

from infrastructure import embedded_postgres
from retail.tenancy import resilience
from tests.conftest import gunicorn_server, terminate_backend
from tests.identities import SEATTLE
from tests.mcp_client import fenced

CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {
        "name": "execute_sales_query",
        "arguments": {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders"},
    },
}

# Every tool (with arguments that answer on any dataset), every kind of resource, and
# a prompt: each request that could meet the database.
TOOL_CALLS = {
    "get_multiple_table_schemas": {"table_names": ["retail.orders"]},
    "execute_sales_query": {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders"},
    "get_current_utc_date": {},
    "semantic_search_products": {"query_description": "paint brush", "max_rows": 3},
    "get_store_performance": {"period": "last_year"},
    "get_top_products": {"period": "last_year", "limit": 3},
    "get_sales_trend": {"period": "last_year", "granularity": "month"},
    "plot_sales_trend": {"period": "last_quarter", "granularity": "month"},
    "get_inventory_alerts": {"threshold_days": 30, "limit": 5},
    "get_category_seasonality": {"category": "Paint & Finishes"},
}
REQUESTS = {
    **{
        f"tool {name}": {"method": "tools/call", "params": {"name": name, "arguments": arguments}}
        for name, arguments in TOOL_CALLS.items()
    },
    "resource stores/mine": {"method": "resources/read", "params": {"uri": "zava://stores/mine"}},
    "resource schema": {
        "method": "resources/read",
        "params": {"uri": "zava://schema/retail.orders"},
    },
    "resource catalogue template": {
        "method": "resources/read",
        "params": {"uri": "zava://catalogue/Hand%20Tools/Hand%20Saws"},
    },
    "prompt weekly_store_review": {
        "method": "prompts/get",
        "params": {"name": "weekly_store_review", "arguments": {"store": "Seattle"}},
    },
    "completion store": {
        "method": "completion/complete",
        "params": {
            "ref": {"type": "ref/prompt", "name": "weekly_store_review"},
            "argument": {"name": "store", "value": "Se"},
        },
    },
}


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout


def _pg_ctl(pgdata: Path, *args: str) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(list(args), pgdata=pgdata, user="pgserver" if os.geteuid() == 0 else None)


@pytest.fixture(scope="module")
def isolated_stack():
    """A private database cluster, seeded small, and gunicorn serving it.

    Not under pytest's temporary root: as root, the cluster runs as the pgserver user,
    which must traverse its parent directories, and every pytest session that starts
    on the machine makes that root private again.
    """
    home = Path(tempfile.mkdtemp(prefix="zava-faultpg-"))
    home.chmod(0o755)
    pgdata = home / "pgdata"
    env = {
        **os.environ,
        "ZAVA_PGDATA": str(pgdata),
        "ZAVA_DB_POOL_TIMEOUT": "1",
        "ZAVA_RATE_LIMIT_PER_MINUTE": "0",
        "WEB_CONCURRENCY": "1",
    }
    env.pop("ZAVA_DB_NAME", None)
    _manage(env, "migrate", "-v0")
    _manage(env, "seed_retail", "--customers", "300", "-v0")
    _manage(env, "embed_products", "-v0")
    token = _manage(env, "issue_token", SEATTLE.email).strip().splitlines()[-1]
    try:
        with gunicorn_server(home / "gunicorn.log", env) as server:
            url = f"{server.url}/mcp"
            deadline = time.monotonic() + 60
            while _call(url, token)[0] != 200:
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.2)
            yield url, token, pgdata
    finally:
        try:
            embedded_postgres.stop(pgdata, mode="immediate")
        finally:
            shutil.rmtree(home, ignore_errors=True)


def _call(url: str, token: str, message: dict = CALL) -> tuple[int, dict | None]:
    status, body, _ = _post(url, token, message)
    return status, body


def _post(url: str, token: str, message: dict) -> tuple[int, dict | None, dict]:
    """Status, JSON body (None when there is none) and headers of one request."""
    try:
        response = httpx.post(
            url,
            json=message,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=15,
        )
    except httpx.HTTPError:
        return 0, None, {}
    try:
        return response.status_code, response.json(), dict(response.headers)
    except ValueError:
        return response.status_code, None, dict(response.headers)


def _answer(status: int, body: dict | None, headers: dict) -> str:
    """ok, unavailable (a clean 503 or typed tool error) or unclean:<what>."""
    if status == 503:
        clean = body and body["error"]["code"] == -32000 and headers.get("retry-after") == "5"
        return "unavailable" if clean else f"unclean:503 {body} {headers}"
    if status != 200 or not body:
        return f"unclean:{status}"
    if "error" in body:
        return f"unclean:{body['error']}"
    result = body["result"]
    if result.get("isError"):
        text = result["content"][0]["text"]
        return "unavailable" if '"code":"unavailable"' in text else f"unclean:{text[:200]}"
    return "ok"


def _outcome(status: int, body: dict | None) -> str:
    if status == 200 and body and not body["result"]["isError"]:
        text = body["result"]["content"][0]["text"]
        assert fenced(text)[1] == '{"c":["store_id"],"r":[[1]],"n":1}'
        return "ok"
    if status == 503 and body and body["error"]["code"] == -32000:
        return "unavailable"
    if status == 200 and body and '"code":"unavailable"' in body["result"]["content"][0]["text"]:
        return "unavailable"
    return f"unclean:{status}"


@pytest.mark.slow
def test_calls_fail_cleanly_while_the_database_is_down_and_recover_without_a_restart(
    isolated_stack,
):
    url, token, pgdata = isolated_stack
    outcomes: list[tuple[str, float, float]] = []  # (outcome, started, seconds)
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            started = time.monotonic()
            status, body = _call(url, token)
            outcomes.append((_outcome(status, body), started, time.monotonic() - started))

    worker = threading.Thread(target=stream)
    worker.start()
    try:
        time.sleep(1.5)
        stopping_at = time.monotonic()
        embedded_postgres.stop(pgdata)
        down_at = time.monotonic()
        time.sleep(3)
        up_at = time.monotonic()
        embedded_postgres.start(pgdata)
        time.sleep(8)
    finally:
        stop.set()
        worker.join(timeout=30)

    before = [o for o, started, s in outcomes if started + s < stopping_at]
    # Calls made entirely while the server was down (a call waiting across the
    # restart may rightly succeed).
    during = [(o, s) for o, started, s in outcomes if started > down_at and started + s < up_at]
    # The pool retries its connections with a doubling backoff (psycopg_pool: 1, 2, 4 s
    # ...), so after 3 s down its next try may come up to 4 s after the restart.
    after = [o for o, started, _ in outcomes if started > up_at + 5]
    assert before and set(before) == {"ok"}
    assert during and {o for o, _ in during} == {"unavailable"}
    assert max(seconds for _, seconds in during) < 5  # fails fast, no hang
    assert after and set(after) == {"ok"}  # recovered, same server process
    assert not [o for o, _, _ in outcomes if o.startswith("unclean")], outcomes

    socket_dir = str(pgdata)
    with psycopg.connect(host=socket_dir, user="postgres", dbname="zava") as admin:
        leaked = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'zava_gateway' "
            "AND (state LIKE 'idle in transaction%%' OR backend_xid IS NOT NULL)"
        ).fetchone()[0]
        assert leaked == 0


def test_every_request_that_reads_data_fails_cleanly_while_the_database_is_down(isolated_stack):
    url, token, pgdata = isolated_stack
    for name, message in REQUESTS.items():
        assert _answer(*_post(url, token, {"jsonrpc": "2.0", "id": 1, **message})) == "ok", name

    embedded_postgres.stop(pgdata)
    try:
        for name, message in REQUESTS.items():
            started = time.monotonic()
            answer = _answer(*_post(url, token, {"jsonrpc": "2.0", "id": 1, **message}))
            assert answer == "unavailable", name
            assert time.monotonic() - started < 5, name  # fails fast, no hang
    finally:
        # pg_ctl itself: pgserver remembers the server it started and would not again.
        log = pgdata / "restarted.log"
        _pg_ctl(pgdata, "-w", "-o", '-h ""', "-o", f"-k {pgdata}", "-l", str(log), "start")

    deadline = time.monotonic() + 30
    while _call(url, token)[0] != 200:
        assert time.monotonic() < deadline, "no recovery after the restart"
        time.sleep(0.2)
    for name, message in REQUESTS.items():  # the same server process, recovered
        assert _answer(*_post(url, token, {"jsonrpc": "2.0", "id": 1, **message})) == "ok", name


@pytest.fixture
def tenant_backend_killed_once(database, monkeypatch):
    """The first tenant context opened loses its backend at once; returns what opened."""
    opened: list[int] = []
    real_context = resilience.tenant_transaction

    @contextmanager
    def killed_once(manager_id, **options):
        with real_context(manager_id, **options) as context:
            if not opened:
                terminate_backend(context.backend_pid)
            opened.append(context.backend_pid)
            yield context

    monkeypatch.setattr(resilience, "tenant_transaction", killed_once)
    return opened


@pytest.mark.parametrize("name", list(REQUESTS))
def test_a_request_whose_connection_dies_runs_again_on_a_fresh_one(
    tenant_backend_killed_once, tokens, name
):
    message = REQUESTS[name]
    response = Client().post(
        "/mcp",
        {"jsonrpc": "2.0", "id": 1, **message},
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens[SEATTLE.email]}", "Accept": "application/json"},
    )
    body = response.json()
    assert _answer(response.status_code, body, dict(response.headers)) == "ok", body
    opened = tenant_backend_killed_once
    if message["method"] == "prompts/get":
        assert opened == []  # a prompt reads no data: no tenant context at all
    else:
        # Even a tool that reads no data meets the dead connection: the drift check
        # after its work cannot vouch for the session, so the work runs again.
        assert len(opened) == 2 and opened[0] != opened[1]  # ran again on a new backend
