"""``rotate_keys`` under a stream of MCP calls through gunicorn: no call fails or sees less.

Two clients call ``execute_sales_query`` without pause while the key rotates with a
short overlap and the overlap ends. Every answer must be exactly the caller's stores:
a request signed with a key the database no longer accepts would not fail loudly,
it would see no rows, so the test compares contents, not status codes. The same bearer
tokens are used throughout, so tokens survive the rotation.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import httpx
import pytest
from django.conf import settings
from django.db import connection

from tests.conftest import gunicorn_server, server_environment
from tests.identities import EASTERN_ONLINE, SEATTLE
from tests.mcp_client import FENCE, rpc

CLIENTS = {  # email -> the stores it must see, as the tool's text answer (inside the fence)
    SEATTLE.email: '{"c":["store_id"],"r":[[1]],"n":1}',
    EASTERN_ONLINE.email: '{"c":["store_id"],"r":[[4],[8]],"n":2}',
}
QUERY = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"
REFRESH_SECONDS = "0.5"
OVERLAP_SECONDS = "2"
CALLS_AFTER_EXPIRY = 30  # per client, all started after the old key expired


def _answer(url: str, token: str) -> str:
    params = {"name": "execute_sales_query", "arguments": {"postgresql_query": QUERY}}
    try:
        text = rpc(url, token, "tools/call", params).json()["result"]["content"][0]["text"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"failed: {exc!r}"
    match = FENCE.match(text)
    return match.group(2) if match else f"not fenced: {text[:200]}"


def _old_keys_expired() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) = 0 FROM zava_private.rls_signing_key "
                       "WHERE expires_at > clock_timestamp()")  # fmt: skip
        return cursor.fetchone()[0]


@pytest.mark.slow
def test_no_call_fails_while_the_key_rotates(original_keys, tokens, tmp_path):
    environment = server_environment(
        WEB_CONCURRENCY="2", ZAVA_SIGNING_KEY_REFRESH_SECONDS=REFRESH_SECONDS
    )
    answers: dict[str, list[tuple[str, bool]]] = {email: [] for email in CLIENTS}
    expired = threading.Event()
    stop = threading.Event()

    def stream(email: str, url: str) -> None:
        while not stop.is_set():
            started_after_expiry = expired.is_set()
            answers[email].append((_answer(url, tokens[email]), started_after_expiry))

    with gunicorn_server(tmp_path / "gunicorn.log", environment) as server:
        workers = [
            threading.Thread(target=stream, args=(email, server.mcp_url)) for email in CLIENTS
        ]
        for worker in workers:
            worker.start()
        try:
            while min(len(a) for a in answers.values()) < 10:
                time.sleep(0.05)
            subprocess.run(
                [sys.executable, "manage.py", "rotate_keys", "--overlap", OVERLAP_SECONDS],
                cwd=settings.BASE_DIR, env=environment, check=True, capture_output=True,
            )  # fmt: skip
            while not _old_keys_expired():
                time.sleep(0.05)
            expired.set()
            while min(sum(after for _, after in a) for a in answers.values()) < CALLS_AFTER_EXPIRY:
                time.sleep(0.05)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=60)

    for email, expected in CLIENTS.items():
        wrong = [text for text, _ in answers[email] if text != expected]
        assert not wrong, (email, len(answers[email]), wrong[:3])
