"""Migration 0014 renames the audit on a populated, partitioned table and keeps every row.

The test takes the test database back to 0013 (the audit named ``audit_tool_calls``),
fills a monthly partition and the default one, then migrates forward and back again,
looking at the catalogue and the rows each time. It leaves the database migrated.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from retail.models import AuditedRequest
from retail.services.audit_retention import monthly_partitions, partition_name

BEFORE = "0013_citus_distribution"
AFTER = "0014_audit_named_for_requests"
NAME = "migration-0014-test"
LONG_AGO = datetime(2020, 3, 14, 15, 9, tzinfo=UTC)  # no month of its own: the default


def _migrate(target: str | None) -> None:
    """To ``target`` of the retail app; to every app's latest migration for None."""
    executor = MigrationExecutor(connection)
    executor.migrate([("retail", target)] if target else executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


def _rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY id")
        return cursor.fetchall()


def _names(prefix: str) -> set[str]:
    """Relations (tables, indexes, sequences) and constraints whose names start so."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE starts_with(relname, %s) "
            "UNION SELECT conname FROM pg_constraint WHERE starts_with(conname, %s)",
            [prefix, prefix],
        )
        return {name for (name,) in cursor.fetchall()}


def _partition_of(table: str, row_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])
        return cursor.fetchone()[0]


def _monthly_partitions() -> dict[datetime, str]:
    with connection.cursor() as cursor:
        return monthly_partitions(cursor)


def _head_office_codenames() -> set[str]:
    group = Group.objects.get(name="Head office")
    return set(group.permissions.values_list("codename", flat=True))


@pytest.fixture
def at_0013(database) -> Iterator[list[int]]:
    """The database at 0013 with two audit rows of this test: this month's and 2020's."""
    _migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO audit_tool_calls (tool, arguments, outcome, error_code, "
                "request_id, created_at) VALUES (%s, '{\"a\": 1}', 'ok', '', 'r1', now()), "
                "(%s, '{}', 'refused', 'E', 'r2', %s) RETURNING id",
                [NAME, NAME, LONG_AGO],
            )
            ids = [row_id for (row_id,) in cursor.fetchall()]
        yield ids
    finally:
        _migrate(None)
        AuditedRequest.objects.filter(tool=NAME).delete()


def test_the_rename_keeps_every_row_and_leaves_no_old_name(at_0013: list[int]) -> None:
    this_month, long_ago = at_0013
    before = _rows("audit_tool_calls")
    old_partition = partition_name(timezone.now()).replace("audit_requests", "audit_tool_calls")
    assert _partition_of("audit_tool_calls", this_month) == old_partition
    assert _partition_of("audit_tool_calls", long_ago) == "audit_tool_calls_default"
    assert "view_toolcall" in _head_office_codenames()

    _migrate(AFTER)

    assert _rows("audit_requests") == before
    assert _partition_of("audit_requests", this_month) == partition_name(timezone.now())
    assert _partition_of("audit_requests", long_ago) == "audit_requests_default"
    assert _names("audit_tool_calls") == set()
    assert _names("tool_calls_") == set()
    assert {"audit_requests_id_seq", "audit_requests_manager_idx"} <= _names("audit_requests")
    assert len(_monthly_partitions()) >= 3  # this month and two ahead, found by name
    # The identity goes on from where it was (in SQL: the model is of a later migration).
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            "created_at) VALUES (%s, '{}', 'ok', '', 'r3', now()) RETURNING id",
            [NAME],
        )
        (fresh,) = cursor.fetchone()
        cursor.execute("SELECT arguments FROM audit_requests WHERE id = %s", [this_month])
        assert json.loads(cursor.fetchone()[0]) == {"a": 1}
    assert fresh > max(row[0] for row in before)
    # Head office keeps its read-only view of the audit, under the new codename.
    codenames = _head_office_codenames()
    assert "view_auditedrequest" in codenames
    assert not {"view_toolcall", "add_auditedrequest", "delete_auditedrequest"} & codenames


def test_the_rename_reverses(at_0013: list[int]) -> None:
    _migrate(AFTER)
    after = _rows("audit_requests")

    _migrate(BEFORE)

    assert _rows("audit_tool_calls") == after
    assert _names("audit_requests") == set()
    assert "audit_tool_calls_id_seq" in _names("audit_tool_calls")
    assert "tool_calls_manager_idx" in _names("tool_calls_")
    assert _partition_of("audit_tool_calls", at_0013[1]) == "audit_tool_calls_default"
    assert "view_toolcall" in _head_office_codenames()
