"""Fault injection: PostgreSQL stops during a stream of calls and comes back.

The test runs its own embedded PostgreSQL and its own gunicorn, so stopping the
database disturbs nothing else. While the database is down, calls must fail fast
and cleanly (503 or a typed "unavailable" tool error, never a 500 or a hang); once
it is back, calls must succeed again without restarting the server, and no
transaction or role may be left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import psycopg
import pytest
from django.conf import settings

from tests.conftest import gunicorn_server
from tests.identities import SEATTLE
from zava import embedded_postgres

CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {
        "name": "execute_sales_query",
        "arguments": {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders"},
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
def isolated_stack(tmp_path_factory):
    """A private database cluster, seeded small, and gunicorn serving it."""
    pgdata = tmp_path_factory.mktemp("faultpg") / "pgdata"
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
    token = _manage(env, "issue_token", SEATTLE.email).strip().splitlines()[-1]
    try:
        with gunicorn_server(pgdata.parent / "gunicorn.log", env) as server:
            url = f"{server.url}/mcp"
            deadline = time.monotonic() + 60
            while _call(url, token)[0] != 200:
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.2)
            yield url, token, pgdata
    finally:
        _pg_ctl(pgdata, "stop", "-m", "immediate")


def _call(url: str, token: str) -> tuple[int, dict | None]:
    try:
        response = httpx.post(
            url,
            json=CALL,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=15,
        )
    except httpx.HTTPError:
        return 0, None
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, None


def _outcome(status: int, body: dict | None) -> str:
    if status == 200 and body and not body["result"]["isError"]:
        assert body["result"]["content"][0]["text"] == '{"c":["store_id"],"r":[[1]],"n":1}'
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
        _pg_ctl(pgdata, "stop", "-m", "fast")
        down_at = time.monotonic()
        time.sleep(3)
        up_at = time.monotonic()
        embedded_postgres.start(pgdata)
        time.sleep(4)
    finally:
        stop.set()
        worker.join(timeout=30)

    before = [o for o, started, s in outcomes if started + s < stopping_at]
    # Calls made entirely while the server was down (a call waiting across the
    # restart may rightly succeed).
    during = [(o, s) for o, started, s in outcomes if started > down_at and started + s < up_at]
    after = [o for o, started, _ in outcomes if started > up_at + 2]
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
