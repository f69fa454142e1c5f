"""Backup, then restore into a fresh embedded server: it must answer exactly as before.

The dump of the suite's database is restored into a new cluster in a temporary
directory (new roles from the bootstrap, nothing shared with the original), served by
its own gunicorn. Every seeded manager, through MCP as the restricted role, must see
exactly its stores there, with the same bearer token; semantic search must give the
same answer; the HMAC keys must be the same and the tenant role as locked down.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from infrastructure import embedded_postgres
from infrastructure.embedded_postgres import EmbeddedServer
from retail.services.seeding import MANAGERS, STORES, ManagerKind
from tests.conftest import gunicorn_server, server_environment
from tests.identities import SEATTLE
from tests.mcp_client import call_tool, rows, tool_json

STORES_SEEN = (
    "SELECT DISTINCT s.store_name FROM retail.orders o "
    "JOIN retail.stores s USING (store_id) ORDER BY 1"
)
SEARCH = {"query_description": "cordless drill for wood and metal", "max_rows": 10}
KEYS = "SELECT id, secret, expires_at FROM zava_private.rls_signing_key ORDER BY id"
TENANT = settings.ZAVA_DB_ROLES["tenant"]


def _expected_stores(spec) -> list[str]:
    names = [s.name for s in STORES] if spec.kind == ManagerKind.HEAD_OFFICE else spec.stores
    return sorted(names)


@pytest.fixture(scope="module")
def restored(seeded, tokens, django_db_blocker, tmp_path_factory):
    """The suite's database, backed up and restored into a new embedded server."""
    workdir = tmp_path_factory.mktemp("restore")
    dump = workdir / "zava.dump"
    with django_db_blocker.unblock():
        call_command("backup", to=dump)
    # Not under pytest's own temporary root: another pytest run may make that private
    # again, and the server runs as pgserver's user, which must reach its data.
    cluster_dir = Path(tempfile.mkdtemp(prefix="zava-restored-"))
    pgdata = cluster_dir / "pgdata"
    environment = server_environment(ZAVA_PGDATA=str(pgdata), ZAVA_DB_NAME="zava")
    subprocess.run(
        [sys.executable, "manage.py", "restore", str(dump)],
        cwd=settings.BASE_DIR, env=environment, check=True, capture_output=True, text=True,
    )  # fmt: skip
    try:
        with gunicorn_server(workdir / "gunicorn.log", environment) as server:
            yield server, dump, environment, EmbeddedServer(socket_dir=pgdata)
    finally:
        embedded_postgres.stop(pgdata)
        shutil.rmtree(cluster_dir, ignore_errors=True)


def test_the_dump_is_readable_by_its_owner_only(restored):
    _, dump, _, _ = restored
    assert dump.stat().st_mode & 0o077 == 0


def test_every_manager_sees_exactly_its_stores_after_a_restore(restored, zava_server, tokens):
    server, _, _, _ = restored
    for spec in MANAGERS:
        seen = [row[0] for row in rows(server.mcp_url, tokens[spec.email], STORES_SEEN)]
        assert seen == _expected_stores(spec), spec.email
        assert seen == [
            row[0] for row in rows(zava_server.mcp_url, tokens[spec.email], STORES_SEEN)
        ]


def test_semantic_search_answers_as_before(restored, zava_server, tokens):
    server, _, _, _ = restored
    token = tokens[SEATTLE.email]
    after = call_tool(server.mcp_url, token, "semantic_search_products", SEARCH)
    before = call_tool(zava_server.mcp_url, token, "semantic_search_products", SEARCH)
    assert not after.isError
    assert tool_json(after) == tool_json(before)
    assert tool_json(after)["r"]  # products were found, with their similarity
    assert "sp" in tool_json(after)["c"]


def test_keys_and_the_tenant_roles_limits_are_restored(restored, database):
    _, _, _, cluster = restored
    with connection.cursor() as cursor:
        cursor.execute(KEYS)
        original_keys = cursor.fetchall()
    with psycopg.connect(cluster.superuser_conninfo("zava")) as conn:
        assert conn.execute(KEYS).fetchall() == original_keys
        assert conn.execute(
            "SELECT has_database_privilege(%s, 'zava', 'CREATE'), "
            "has_database_privilege(%s, 'zava', 'TEMP'), "
            "has_schema_privilege(%s, 'zava_private', 'USAGE'), "
            "has_function_privilege(%s, 'pg_terminate_backend(integer, bigint)', 'EXECUTE')",
            [TENANT] * 4,
        ).fetchone() == (False, False, False, False)
        forced = conn.execute(
            "SELECT relname FROM pg_class WHERE relrowsecurity AND relforcerowsecurity ORDER BY 1"
        ).fetchall()
        assert [r[0] for r in forced] == ["customers", "inventory", "order_items", "orders"]


def test_restore_refuses_a_database_that_is_not_empty(restored):
    _, dump, environment, _ = restored
    result = subprocess.run(
        [sys.executable, "manage.py", "restore", str(dump)],
        cwd=settings.BASE_DIR, env=environment, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "is not empty" in result.stderr


def test_restore_of_a_missing_file_is_a_clear_error(database, tmp_path: Path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("restore", tmp_path / "missing.dump")


def test_restore_of_a_file_that_is_not_a_dump_is_a_clear_error(database, tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_text("not a dump")
    with pytest.raises(CommandError, match="pg_restore failed"):
        call_command("restore", path)
