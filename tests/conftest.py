"""Shared fixtures: one small, committed, deterministic dataset for the whole run.

Tool queries run on the ``tenant`` connection, which logs in as another role and so
only sees committed rows; the usual per-test transaction would hide the data from
it. The suite therefore seeds the test database once and treats it as read-only.
Tests that change tenancy state restore it themselves.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import setup_databases, teardown_databases

from retail.services.product_embeddings import embed_products
from retail.services.seeding import ManagerSpec, SeedSummary, seed_retail
from tests.identities import SEATTLE
from tests.mcp_client import SharedSession
from tests.pgbouncer import SYSTEM_PATH, PgBouncer, running_pgbouncer

SEED = 7
SEED_CUSTOMERS = 1_500
SEED_END_DATE = date(2026, 6, 30)
LIVE_QUERY_TIMEOUT_MS = 1_500
LIVE_MAX_ROWS = 200
LIVE_MAX_RESULT_BYTES = 20_000

# pytest marker -> the system command its tests need; scripts/test-deps installs them.
SYSTEM_COMMANDS = {"browser": "chromium", "redis": "redis-server", "pgbouncer": "pgbouncer"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stop, or skip with the reason, when a system command some tests need is missing.

    Where apt-get exists (the project's machines) ``scripts/test-deps`` can install it,
    so a missing one stops the run before any test. Elsewhere (macOS) those tests are
    skipped and counted in the summary, never passed.
    """
    needed = {marker for item in items for marker in SYSTEM_COMMANDS if marker in item.keywords}
    missing = {
        marker: command
        for marker, command in SYSTEM_COMMANDS.items()
        if marker in needed and not shutil.which(command, path=SYSTEM_PATH)
    }
    if not missing:
        return
    if shutil.which("apt-get") or os.environ.get("CI"):
        raise pytest.UsageError(
            f"missing {', '.join(sorted(missing.values()))}: run scripts/test-deps "
            "(make test does), or deselect with -m 'not browser and not redis and not pgbouncer'"
        )
    for item in items:
        for marker, command in missing.items():
            if marker in item.keywords:
                reason = f"needs {command}, which is not installed on this system"
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker) -> Iterator[None]:
    """Create the test database for both aliases, whichever tests were collected.

    pytest-django only creates databases that ``django_db`` marks ask for; this
    suite reaches the database through fixtures instead.
    """
    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default", "tenant"})
        for alias in ("default", "tenant"):
            connections[alias].close_pool()  # pools must not keep the old database name
    yield
    with django_db_blocker.unblock():
        for alias in ("default", "tenant"):
            connections[alias].close()
            connections[alias].close_pool()
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def seeded(django_db_setup, django_db_blocker) -> SeedSummary:
    with django_db_blocker.unblock():
        summary = seed_retail(customers=SEED_CUSTOMERS, seed=SEED, end_date=SEED_END_DATE)
        embed_products()
        return summary


@pytest.fixture
def database(seeded, django_db_blocker) -> Iterator[SeedSummary]:
    """Database access to the committed, seeded test database."""
    with django_db_blocker.unblock():
        yield seeded


@dataclass
class WindowClock:
    """The rate limiter's clock, held still until a test moves it."""

    now: float

    def time(self) -> float:
        return self.now


@pytest.fixture
def rate_limit_clock(monkeypatch) -> WindowClock:
    """Freeze the rate limiter's clock halfway through a one-minute window.

    The limits count in fixed windows of the wall clock; held still, a test's requests
    all fall in one window wherever in the minute the test happens to run.
    """
    from retail import rate_limits

    window = rate_limits.WINDOW_SECONDS
    clock = WindowClock(now=(time.time() // window) * window + window / 2)
    monkeypatch.setattr(rate_limits, "time", clock)
    return clock


@pytest.fixture
def url(zava_server) -> str:
    """The live server's /mcp URL."""
    return zava_server.mcp_url


@pytest.fixture
def token(tokens) -> str:
    """The Seattle store manager's bearer token: one store, the attacker's usual seat."""
    return tokens[SEATTLE.email]


@pytest.fixture
def fresh_rate_limits(database) -> Iterator[None]:
    """Every rate limit's counters start from zero, and are forgotten afterwards."""
    from retail.rate_limits import TABLE

    def clear() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute(f"DELETE FROM {TABLE}")

    clear()
    yield
    clear()


@contextmanager
def uncommitted(*statements: str) -> Iterator[None]:
    """Run ``statements`` on the owner connection and roll them back afterwards."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
        yield
        transaction.set_rollback(True)


def terminate_backend(backend_pid: int) -> None:
    """End a backend as the embedded cluster's superuser, and wait until it is gone."""
    import psycopg

    params = connections["default"].settings_dict
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"] or None, user="postgres",
        dbname=params["NAME"], autocommit=True,
    ) as admin:  # fmt: skip
        ended = admin.execute("SELECT pg_terminate_backend(%s, 5000)", [backend_pid])
        assert ended.fetchone()[0], "the backend did not end"


def backend_gone(backend_pid: int, within_seconds: float = 5.0) -> bool:
    """Whether the server backend ``backend_pid`` has exited (its client closed the
    connection), waiting up to ``within_seconds`` for it to notice."""
    deadline = time.monotonic() + within_seconds
    while True:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend_pid])
            if cursor.fetchone()[0] == 0:
                return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


# --- A real server and real clients ---------------------------------------------------


@dataclass(frozen=True)
class LiveServer:
    url: str
    log: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(**overrides: str) -> dict[str, str]:
    """The environment of a test server: the test database, no rate limits, no Sentry."""
    environment = {
        **os.environ,
        "ZAVA_DB_NAME": connections["default"].settings_dict["NAME"],
        "ZAVA_RATE_LIMIT_PER_MINUTE": "0",  # limits have their own, in-process tests
        "ZAVA_AUTH_FAILURES_PER_MINUTE": "0",
        "ZAVA_OAUTH_REQUESTS_PER_MINUTE": "0",
        "ZAVA_OAUTH_REGISTRATIONS_PER_MINUTE": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        **overrides,
    }
    environment.pop("SENTRY_DSN", None)  # tests send nothing anywhere
    return environment


@contextmanager
def gunicorn_server(log: Path, environment: dict[str, str]) -> Iterator[LiveServer]:
    """gunicorn, the production server, with ``environment``, until the block ends."""
    port = _free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "zava.wsgi:application",
             "--config", "zava/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}"],
            cwd=settings.BASE_DIR, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = LiveServer(url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_serving(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


def private_server(log: Path, **env: str) -> AbstractContextManager[LiveServer]:
    """gunicorn on the test database with ``env`` on top of the test environment."""
    return gunicorn_server(log, server_environment(ZAVA_LOG_FORMAT="json", **env))


@pytest.fixture(scope="session")
def zava_server(seeded, tmp_path_factory) -> Iterator[LiveServer]:
    """The suite's shared server on the test database, with small limits to test against."""
    environment = server_environment(
        ZAVA_QUERY_TIMEOUT_MS=str(LIVE_QUERY_TIMEOUT_MS),
        ZAVA_MAX_ROWS=str(LIVE_MAX_ROWS),
        ZAVA_MAX_RESULT_BYTES=str(LIVE_MAX_RESULT_BYTES),
    )
    with gunicorn_server(tmp_path_factory.mktemp("server") / "gunicorn.log", environment) as server:
        yield server


def _wait_until_serving(server: LiveServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/admin/login/", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start:\n{server.log.read_text()}")


@pytest.fixture(scope="session")
def tokens(seeded, django_db_blocker) -> dict[str, str]:
    """A raw bearer token per seeded manager, keyed by the manager's email."""
    from retail.models import Manager
    from retail.services.seeding import MANAGERS
    from retail.services.tokens import token_issue

    with django_db_blocker.unblock():
        return {
            spec.email: token_issue(manager=Manager.objects.get(pk=spec.id), name="tests").raw
            for spec in MANAGERS
        }


@pytest.fixture(scope="module")
def session_of(zava_server, tokens) -> Iterator[Callable[[ManagerSpec], SharedSession]]:
    """One MCP client session per manager for the whole module, opened on first use.

    For tests whose outcome does not depend on the session (the server is stateless);
    a test about the handshake itself opens its own with ``with_session``.
    """
    sessions: dict[str, SharedSession] = {}

    def session(spec: ManagerSpec) -> SharedSession:
        if spec.email not in sessions:
            sessions[spec.email] = SharedSession(zava_server.mcp_url, tokens[spec.email])
        return sessions[spec.email]

    yield session
    for shared in sessions.values():
        shared.close()


# --- Redis and PgBouncer, started privately on free ports -----------------------------


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private redis-server on a free loopback port, for CACHE_URL."""
    import redis

    executable = shutil.which("redis-server", path=SYSTEM_PATH)
    assert executable, "redis-server is installed by scripts/test-deps"
    port = _free_port()
    server = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="session")
def pgbouncer(seeded) -> Iterator[PgBouncer]:
    """PgBouncer in transaction mode in front of the seeded test database (tests/pgbouncer.py).

    The owner and gateway roles log in with the passwords the settings give them, or
    with fresh ones where the server trusts its socket (the embedded server).
    """
    database = connections["default"].settings_dict
    passwords = {
        connections[alias].settings_dict["USER"]: (
            connections[alias].settings_dict["PASSWORD"] or secrets.token_urlsafe(16)
        )
        for alias in ("default", "tenant")
    }
    with running_pgbouncer(port=_free_port(), database=database, passwords=passwords) as bouncer:
        yield bouncer
