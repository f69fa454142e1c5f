"""Migration 0013 distributes the tables only on Citus: here, without the extension, it
runs nothing; on Citus it would run exactly the statements docs/scaling.md shows."""

from __future__ import annotations

import re
from importlib import import_module

from django.conf import settings
from django.db import connections

migration = import_module("retail.migrations.0013_citus_distribution")

DOC = settings.BASE_DIR / "docs" / "scaling.md"
DOC_MARKER = "<!-- the statements of retail/migrations/0013_citus_distribution.py -->"


def _documented_statements() -> list[str]:
    text = DOC.read_text()
    after_marker = text[text.index(DOC_MARKER) :]
    block = re.search(r"```sql\n(.*?)```", after_marker, re.DOTALL)
    assert block, "docs/scaling.md shows the migration's statements in an sql block"
    return [" ".join(s.split()) for s in block.group(1).split(";") if s.strip()]


def _collected(direction) -> list[str]:
    """What the migration function hands to the schema editor, without running it."""
    with connections["default"].schema_editor(collect_sql=True) as editor:
        direction(None, editor)
    return [statement.removesuffix(";") for statement in editor.collected_sql]


def test_the_embedded_server_has_no_citus(database):
    assert migration.citus_installed(connections["default"]) is False


def test_without_citus_the_migration_changes_nothing_either_way(database):
    assert _collected(migration.forwards) == []
    assert _collected(migration.backwards) == []


def test_with_citus_it_runs_the_documented_statements(database, monkeypatch):
    monkeypatch.setattr(migration, "citus_installed", lambda connection: True)
    statements = _collected(migration.forwards)
    assert statements == migration.distribution_statements()
    assert [" ".join(s.split()) for s in statements] == _documented_statements()
    assert len(_collected(migration.backwards)) == len(migration.undistribution_statements())


def test_the_distribution_keeps_every_tenant_table_and_names_every_retail_table(database):
    from retail.models.retail_schema import RLS_TABLES

    distributed = {t.removeprefix("retail.") for t in migration.DISTRIBUTED_TABLES}
    reference = {t.removeprefix("retail.") for t in migration.REFERENCE_TABLES}
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'retail' ORDER BY tablename"
        )
        retail_tables = {name for (name,) in cursor.fetchall()}
    assert retail_tables == (distributed | reference) - {"zava_private.rls_signing_key"}
    assert distributed <= set(RLS_TABLES)  # every sharded table is confined by RLS
    assert set(RLS_TABLES) - distributed == {"customers"}  # the one RLS reference table
