"""Cluster-level set-up that migrations cannot do: roles, the database, extensions.

Runs as a superuser (the embedded server's ``postgres``) or an administrator of an
external server, and is safe to run again. Three roles:

* the **owner** logs in for migrations, the admin and seeding; it owns the tables
  but is neither superuser nor ``BYPASSRLS``, so forced RLS applies to it too;
* the **tenant** role (``NOLOGIN``) is what tool queries run as: ``SELECT`` on the
  retail tables only, granted by the migrations;
* the **gateway** logs in for tool connections. It is ``NOINHERIT`` and holds no
  privilege of its own: it may only ``SET ROLE`` to the tenant role, so a query that
  runs ``RESET ROLE`` ends up with less access, never more.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

logger = logging.getLogger(__name__)

# Functions every role may call by default that a tenant must not: signalling other
# backends lets one tenant cancel another's queries.
REVOKED_FROM_PUBLIC = (
    "pg_catalog.pg_terminate_backend(integer, bigint)",
    "pg_catalog.pg_cancel_backend(integer)",
)

# Settings for the embedded server, which is ours alone to tune.
EMBEDDED_SERVER_SETTINGS = {
    "jit": "off",  # JIT compilation costs more than it saves on short analytics queries
    "random_page_cost": "1.1",
    "work_mem": "32MB",
    "log_min_duration_statement": "-1",
}


def bootstrap_cluster(
    conninfo: str,
    *,
    database: str,
    owner: str,
    gateway: str,
    tenant: str,
    owner_password: str | None = None,
    gateway_password: str | None = None,
    tune_embedded: bool = False,
) -> None:
    """Create or repair roles, the database and extensions. Idempotent."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        _ensure_role(conn, owner, "LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS", owner_password)
        _ensure_role(conn, tenant, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT", None)
        _ensure_role(
            conn, gateway, "LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB", gateway_password
        )
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(tenant), sql.Identifier(gateway))
        )
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(database), sql.Identifier(owner)
                )
            )
        if tune_embedded:
            for name, value in EMBEDDED_SERVER_SETTINGS.items():
                conn.execute(
                    sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), value)
                )
            conn.execute("SELECT pg_reload_conf()")

    # template1 too, so that test databases created from it start the same way.
    for dbname in ("template1", database):
        with psycopg.connect(make_conninfo(conninfo, dbname=dbname), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            for function in REVOKED_FROM_PUBLIC:
                try:
                    conn.execute(f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC")
                except psycopg.errors.InsufficientPrivilege:
                    logger.warning("Could not revoke %s from PUBLIC: not a superuser", function)


def _ensure_role(
    conn: psycopg.Connection, name: str, attributes: str, password: str | None
) -> None:
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    verb = "ALTER" if exists else "CREATE"
    statement = sql.SQL(f"{verb} ROLE {{}} {attributes}").format(sql.Identifier(name))
    conn.execute(statement)
    if password:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
        )
