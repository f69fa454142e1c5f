"""Each manager kind sees exactly its stores' rows, compared with the owner's view."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from retail.services.seeding import STORES
from retail.tenancy.transaction import tenant_transaction
from tests.identities import EASTERN_ONLINE, HEAD_OFFICE, PUGET_SOUND, SEATTLE

ALL_STORES = {s.name for s in STORES}

MANAGERS = {
    "store": (SEATTLE.id, {STORES[0].name}),
    "regional (Puget Sound)": (
        PUGET_SOUND.id,
        ALL_STORES - {"Zava Retail Spokane", "Zava Retail Online"},
    ),
    "regional (Eastern & Online)": (
        EASTERN_ONLINE.id,
        {"Zava Retail Spokane", "Zava Retail Online"},
    ),
    "head office": (HEAD_OFFICE.id, ALL_STORES),
    "unknown": (uuid.UUID("11111111-2222-3333-4444-555555555555"), set()),
    "none": (None, set()),
}
TENANT_TABLES = {
    "customers": "primary_store_id",
    "orders": "store_id",
    "order_items": "store_id",
    "inventory": "store_id",
}
SHARED_TABLES = ("stores", "categories", "product_types", "products")


def _rows_per_store(cursor, table: str, column: str) -> dict[str, int]:
    cursor.execute(
        f"SELECT s.store_name, count(*) FROM retail.{table} t "
        f"JOIN retail.stores s ON s.store_id = t.{column} GROUP BY s.store_name"
    )
    return dict(cursor.fetchall())


@pytest.mark.parametrize("kind", MANAGERS)
@pytest.mark.parametrize("table", TENANT_TABLES)
def test_manager_sees_exactly_the_rows_of_their_stores(database, kind, table):
    manager_id, store_names = MANAGERS[kind]
    with connection.cursor() as cursor:
        owner_view = _rows_per_store(cursor, table, TENANT_TABLES[table])
    assert set(owner_view) == ALL_STORES  # the seed gives every store rows

    with tenant_transaction(manager_id) as tenant, tenant.connection.cursor() as cursor:
        tenant_view = _rows_per_store(cursor, table, TENANT_TABLES[table])

    assert tenant_view == {name: n for name, n in owner_view.items() if name in store_names}


@pytest.mark.parametrize("kind", MANAGERS)
@pytest.mark.parametrize("table", SHARED_TABLES)
def test_shared_tables_are_readable_by_every_manager(database, kind, table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM retail.{table}")
        owner_count = cursor.fetchone()[0]
    with tenant_transaction(MANAGERS[kind][0]) as tenant, tenant.connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM retail.{table}")
        assert cursor.fetchone()[0] == owner_count > 0


def test_policy_function_runs_once_per_query_not_per_row(database):
    """The policy's store list is an InitPlan, evaluated once, not a per-row lookup."""
    with tenant_transaction(PUGET_SOUND.id) as tenant, tenant.connection.cursor() as cursor:
        cursor.execute("EXPLAIN (COSTS OFF) SELECT sum(total_amount) FROM retail.order_items")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "InitPlan 1" in plan
    assert "store_id = ANY ((InitPlan 1)" in plan  # the index condition uses it
