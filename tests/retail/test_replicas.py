"""Read replicas, for real (the ``slow`` tests): a streaming replica of the suite's
embedded server, made with PostgreSQL's own pg_basebackup and started with pg_ctl on
its own socket directory and port, and gunicorn configured with it through
DATABASE_REPLICA_URLS.

Tool calls over MCP (the official client) must run on the replica, checked from inside
the tenant context (``pg_is_in_recovery()`` through a test-only tool, which also shows
that the identity proof holds on a hot standby); their audit rows land on the primary.
Stopping the replica under a stream of calls must cost no call an error: they continue
on the primary, and go back to the replica once it runs again. A replica that lags
behind a change of the data must not label its old answers with the new data version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from django.conf import settings
from django.db import connections, transaction

from retail.models import AuditedRequest
from retail.replicas import ReplicaRouter, estimate_lag
from retail.tenancy import TENANT_DB_ALIAS
from retail.tenancy.resilience import tenant_read_alias
from tests.conftest import LiveServer, gunicorn_server, server_environment
from tests.identities import PUGET_SOUND, SEATTLE, store_ids
from tests.mcp_client import SharedSession, tool_json

REPLICA_PORT = 5433
METRICS_TOKEN = "replica-test-metrics"
WAIT_SECONDS = 60


def _as_server_user() -> dict[str, Any]:
    """pgserver runs PostgreSQL as its own user when started by root; so must we."""
    return {"user": "pgserver"} if os.geteuid() == 0 else {}


class StreamingReplica:
    """A hot standby of the suite's server in a directory of its own."""

    def __init__(self, home: Path, primary_socket_dir: str, primary_port: int) -> None:
        self.home = home
        self.pgdata = home / "pgdata"
        self.socket_dir = home
        self.port = REPLICA_PORT
        from pgserver._commands import pg_basebackup

        # -R: standby.signal and primary_conninfo; -X stream: the WAL of the copy too.
        pg_basebackup(
            ["-h", primary_socket_dir, "-p", str(primary_port), "-U", "postgres",
             "-D", str(self.pgdata), "-X", "stream", "-R", "-c", "fast", "--no-sync"],
            **_as_server_user(),
        )  # fmt: skip

    def start(self) -> None:
        from pgserver._commands import pg_ctl

        options = f"-h '' -k {self.socket_dir} -p {self.port} -c hot_standby_feedback=on"
        pg_ctl(["-w", "-o", options, "-l", str(self.home / "replica.log"), "start"],
               pgdata=self.pgdata, timeout=60, **_as_server_user())  # fmt: skip

    def stop(self) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, timeout=60, **_as_server_user())

    @property
    def url(self) -> str:
        """Its DATABASE_REPLICA_URLS entry: the socket directory, quoted, and the port."""
        return f"postgres://{quote(str(self.socket_dir), safe='')}:{self.port}"

    def superuser(self) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=connections["default"].settings_dict["NAME"],
            autocommit=True,
        )

    def data_version(self) -> int:
        with self.superuser() as connection:
            return connection.execute("SELECT version FROM zava_private.data_version").fetchone()[0]


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def replica(seeded, django_db_blocker) -> Iterator[StreamingReplica]:
    """Not under pytest's temporary root: the pgserver user must traverse the path."""
    primary = settings.DATABASES["default"]
    with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
        cursor.execute("SHOW wal_level")
        assert cursor.fetchone()[0] in ("replica", "logical"), "the primary cannot stream WAL"
    home = Path(tempfile.mkdtemp(prefix="zava-replica-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(home, "pgserver", "pgserver")
    try:
        standby = StreamingReplica(home, primary["HOST"], int(primary["PORT"]))
        standby.start()
        yield standby
    finally:
        try:
            if (home / "pgdata" / "postmaster.pid").exists():
                standby.stop()
        finally:
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def replica_server(replica, tokens, tmp_path_factory) -> Iterator[LiveServer]:
    """gunicorn with the replica, the test-only probe tool and /metrics on."""
    environment = server_environment(
        DJANGO_SETTINGS_MODULE="tests.retail.replica_settings",
        DATABASE_REPLICA_URLS=replica.url,
        ZAVA_METRICS_TOKEN=METRICS_TOKEN,
        ZAVA_DB_POOL_TIMEOUT="1",
    )
    log = tmp_path_factory.mktemp("replica-server") / "gunicorn.log"
    with gunicorn_server(log, environment) as server:
        _wait_for(lambda: _replica_report(server)["state"] == "streaming", "a streaming replica")
        yield server


@pytest.fixture(scope="module")
def seattle(replica_server, tokens) -> Iterator[SharedSession]:
    session = SharedSession(replica_server.mcp_url, tokens[SEATTLE.email])
    yield session
    session.close()


def _replica_report(server: LiveServer) -> dict[str, Any]:
    body = httpx.get(f"{server.url}/health/ready", timeout=10).json()
    return body["replicas"]["replica_1"]


def _server(session: SharedSession) -> dict[str, Any]:
    """Where the caller's tenant context ran, as the test-only tool reports it."""
    result = session.call_tool("database_server")
    assert not result.isError, result.content[0].text
    return tool_json(result)


def _on_replica(session: SharedSession) -> bool:
    return _server(session)["in_recovery"]


@pytest.mark.slow
def test_tool_calls_run_on_the_replica_as_the_tenant_with_their_own_stores(
    replica_server, seattle, tokens
):
    answer = _server(seattle)
    assert answer["in_recovery"] is True  # a hot standby served the tenant context
    # The identity proof was accepted there: the tenant role sees its own stores only.
    assert answer["role"] == settings.ZAVA_DB_ROLES["tenant"]
    assert answer["stores"] == list(store_ids(SEATTLE))

    regional = SharedSession(replica_server.mcp_url, tokens[PUGET_SOUND.email])
    try:
        stores = regional.rows("SELECT DISTINCT store_id FROM retail.orders ORDER BY 1")
        assert _server(regional)["in_recovery"] is True
    finally:
        regional.close()
    assert [row[0] for row in stores] == list(store_ids(PUGET_SOUND))


@pytest.mark.slow
def test_audit_rows_of_calls_on_the_replica_land_on_the_primary(seattle, django_db_blocker):
    with django_db_blocker.unblock():
        before = AuditedRequest.objects.filter(tool="database_server").count()
        assert _on_replica(seattle)
        assert AuditedRequest.objects.filter(tool="database_server").count() == before + 1


@pytest.mark.slow
def test_health_and_metrics_report_the_replica(replica_server, seattle):
    report = _replica_report(replica_server)
    assert report["state"] == "streaming"
    assert 0 <= report["lag_seconds"] <= settings.ZAVA_REPLICA_MAX_LAG_SECONDS

    metrics = httpx.get(
        f"{replica_server.url}/metrics",
        headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
        timeout=10,
    ).text
    assert 'zava_db_replica_state{alias="replica_1",state="streaming"} 1.0' in metrics
    assert 'zava_db_replica_state{alias="replica_1",state="down"} 0.0' in metrics
    assert 'zava_db_replica_lag_seconds{alias="replica_1"}' in metrics


@pytest.mark.slow
def test_calls_continue_on_the_primary_while_the_replica_is_down_and_go_back(
    replica, replica_server, seattle
):
    served: list[bool] = []  # in_recovery of each answered call, in order
    failures: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            result = seattle.call_tool("database_server")
            if result.isError:
                failures.append(result.content[0].text)
            else:
                served.append(tool_json(result)["in_recovery"])

    worker = threading.Thread(target=stream)
    worker.start()
    try:
        _wait_for(lambda: served.count(True) >= 5, "calls on the replica")
        replica.stop()
        stopped_at = len(served)
        _wait_for(lambda: served[stopped_at:].count(False) >= 20, "calls on the primary")
        _wait_for(lambda: _replica_report(replica_server)["state"] == "down", "a down replica")

        replica.start()
        restarted_at = len(served)
        _wait_for(lambda: served[restarted_at:].count(True) >= 5, "calls back on the replica")
    finally:
        stop.set()
        worker.join(60)
    assert failures == []
    assert True in served[:stopped_at] and False in served[stopped_at:restarted_at]


@pytest.mark.slow
def test_a_lagging_replica_labels_its_answers_with_its_own_data_version(
    replica, replica_server, seattle, django_db_blocker
):
    """The cache key's data version is read where the data is: a replica that has not
    replayed a change yet answers (and caches) under the old version, so once it has,
    the changed data is read, not an old answer under the new version."""
    query = "SELECT store_name FROM retail.stores ORDER BY store_id LIMIT 1"
    (original,) = seattle.rows(query)[0]
    with replica.superuser() as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            with (
                django_db_blocker.unblock(),
                transaction.atomic(),
                connections["default"].cursor() as cursor,
            ):
                # A re-seed in miniature: the data changes and its version moves on.
                cursor.execute(
                    "UPDATE retail.stores SET store_name = store_name || ' (renamed)'"
                    " WHERE store_id = 1"
                )
                cursor.execute(
                    "UPDATE zava_private.data_version SET version = version + 1 RETURNING version"
                )
                (changed_version,) = cursor.fetchone()
            assert replica.data_version() < changed_version  # it lags behind the change
            assert seattle.rows(query) == [[original]]  # its own (old) data, still cached
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    try:
        _wait_for(lambda: replica.data_version() == changed_version, "the replica to catch up")
        assert _on_replica(seattle)
        assert seattle.rows(query) == [[f"{original} (renamed)"]]
    finally:
        with django_db_blocker.unblock(), connections["default"].cursor() as cursor:
            cursor.execute(
                "UPDATE retail.stores SET store_name = %s WHERE store_id = 1", [original]
            )
            cursor.execute("UPDATE zava_private.data_version SET version = version + 1")


# --- Without servers: the lag estimate, the router, and no replicas configured ----------


def test_lag_is_zero_when_the_replica_has_replayed_the_primarys_latest_position():
    assert estimate_lag(500, [(10.0, 100), (11.0, 500)], now=11.5, replay_age=3600.0) == 0.0


def test_lag_is_bounded_by_the_last_primary_position_the_replica_has_replayed():
    samples = [(10.0, 100), (11.0, 200), (12.0, 300)]
    assert estimate_lag(250, samples, now=12.5, replay_age=None) == pytest.approx(1.5)
    # A recent replayed transaction bounds it tighter (steady writes).
    assert estimate_lag(250, samples, now=12.5, replay_age=0.2) == pytest.approx(0.2)


def test_lag_is_unknown_without_any_bound():
    assert estimate_lag(50, [(10.0, 100)], now=11.0, replay_age=None) is None


def test_the_router_leaves_orm_reads_and_writes_on_the_primary_and_never_migrates_a_replica(
    settings,
):
    settings.ZAVA_REPLICA_ALIASES = ["replica_1"]
    router = ReplicaRouter()
    assert router.db_for_read(AuditedRequest) is None  # Django's default: the primary
    assert not hasattr(router, "db_for_write")  # writes: the primary, always
    assert router.allow_migrate("replica_1", "retail") is False
    assert router.allow_migrate("default", "retail") is None


def test_without_replicas_no_router_is_installed_and_tenant_reads_stay_on_the_primary():
    assert settings.ZAVA_REPLICA_ALIASES == []
    assert settings.DATABASE_ROUTERS == []
    assert tenant_read_alias() == TENANT_DB_ALIAS
