"""A private PgBouncer in transaction mode in front of the test database.

Debian's ``pgbouncer`` (installed by scripts/test-deps) runs from a temporary config:
``pool_mode = transaction``, clients authenticate with SCRAM against a userlist, and
it listens on a free loopback port. Two pools lead to the one test database:

* the database's own name, ``POOL_SIZE`` server connections per role, for servers;
* ``ONE_SERVER_DATABASE``, a single server connection per role, so that a test knows
  the next transaction of any client runs on the connection the previous one used.

PgBouncer will not run as root; as root it is started as the user who owns
PostgreSQL's socket directory, the one user sure to reach that socket.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

POOL_SIZE = 2
ONE_SERVER_DATABASE = "zava_one_server"
ADMIN_USER = "zava_pgbouncer_admin"  # PgBouncer's own console (SHOW POOLS), not PostgreSQL's
SYSTEM_PATH = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"  # Debian puts it in /usr/sbin


def executable() -> str | None:
    return shutil.which("pgbouncer", path=SYSTEM_PATH)


@dataclass(frozen=True)
class PgBouncer:
    port: int
    database: str  # the test database, pooled under its own name
    passwords: dict[str, str]  # role -> the password PgBouncer asks for

    def conninfo(self, role: str, *, database: str | None = None) -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=self.port, dbname=database or self.database,
            user=role, password=self.passwords[role],
        )  # fmt: skip

    def url(self, role: str) -> str:
        """A DATABASE_URL through PgBouncer (passwords here are URL-safe tokens)."""
        return f"postgres://{role}:{self.passwords[role]}@127.0.0.1:{self.port}/{self.database}"

    def show(self, what: str) -> list[dict]:
        """``SHOW <what>`` on PgBouncer's console (simple protocol, autocommit)."""
        with psycopg.connect(
            self.conninfo(ADMIN_USER, database="pgbouncer"),
            autocommit=True, cursor_factory=psycopg.ClientCursor,
        ) as console:  # fmt: skip
            cursor = console.execute(f"SHOW {what}")
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _config(
    *, port: int, host: str, server_port: str, database: str, auth_file: Path, log: Path
) -> str:
    server = f"host={host} port={server_port}"
    return f"""\
[databases]
{database} = {server} dbname={database}
{ONE_SERVER_DATABASE} = {server} dbname={database} pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {auth_file}
admin_users = {ADMIN_USER}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 200
logfile = {log}
"""


@contextmanager
def running_pgbouncer(
    *, port: int, database: dict, passwords: dict[str, str]
) -> Iterator[PgBouncer]:
    """PgBouncer in front of ``database`` (a Django settings dict) until the block ends.

    ``passwords`` maps each role to the password clients give PgBouncer, which it
    also uses to log in to PostgreSQL when the server asks for one.
    """
    command = executable()
    assert command, "pgbouncer is installed by scripts/test-deps"
    directory = Path(tempfile.mkdtemp(prefix="zava-pgbouncer-"))
    passwords = {**passwords, ADMIN_USER: secrets.token_urlsafe(16)}
    auth_file, log = directory / "userlist.txt", directory / "pgbouncer.log"
    auth_file.write_text("".join(f'"{role}" "{secret}"\n' for role, secret in passwords.items()))
    host = database["HOST"] or "127.0.0.1"
    (directory / "pgbouncer.ini").write_text(
        _config(port=port, host=host, server_port=database["PORT"] or "5432",
                database=database["NAME"], auth_file=auth_file, log=log)
    )  # fmt: skip
    arguments = [command, str(directory / "pgbouncer.ini")]
    if os.geteuid() == 0:
        owner = Path(host).stat().st_uid if host.startswith("/") else 65534  # nobody
        for path in (directory, *directory.iterdir()):
            os.chown(path, owner, -1)
        arguments[1:1] = ["-u", str(_user_name(owner))]
    process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    bouncer = PgBouncer(port=port, database=database["NAME"], passwords=passwords)
    try:
        _wait_until_listening(port, process, log)
        yield bouncer
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def _user_name(uid: int) -> str:
    import pwd

    return pwd.getpwuid(uid).pw_name


def _wait_until_listening(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else "(no log)"
            raise RuntimeError(f"pgbouncer exited:\n{text}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("pgbouncer did not start listening")
