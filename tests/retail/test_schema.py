"""The reference's tables, columns, types and indexes exist as the reference names them."""

from __future__ import annotations

import pytest
from django.db import connection

REFERENCE_COLUMNS = {
    "stores": {
        "store_id": "integer",
        "store_name": "text",
        "rls_user_id": "uuid",
        "is_online": "boolean",
    },
    "customers": {
        "customer_id": "integer",
        "first_name": "text",
        "last_name": "text",
        "email": "text",
        "phone": "text",
        "primary_store_id": "integer",
        "created_at": "timestamp without time zone",
    },
    "categories": {"category_id": "integer", "category_name": "text"},
    "product_types": {"type_id": "integer", "category_id": "integer", "type_name": "text"},
    "products": {
        "product_id": "integer",
        "sku": "text",
        "product_name": "text",
        "category_id": "integer",
        "type_id": "integer",
        "cost": "numeric(10,2)",
        "base_price": "numeric(10,2)",
        "gross_margin_percent": "numeric(5,2)",
        "product_description": "text",
    },
    "inventory": {"store_id": "integer", "product_id": "integer", "stock_level": "integer"},
    "orders": {
        "order_id": "integer",
        "customer_id": "integer",
        "store_id": "integer",
        "order_date": "date",
    },
    "order_items": {
        "order_item_id": "integer",
        "order_id": "integer",
        "store_id": "integer",
        "product_id": "integer",
        "quantity": "integer",
        "unit_price": "numeric(10,2)",
        "discount_percent": "integer",
        "discount_amount": "numeric(10,2)",
        "total_amount": "numeric(10,2)",
    },
}

# (table, leading columns) of indexes the reference has or its queries need.
EXPECTED_INDEXES = [
    ("stores", ("store_id",)),
    ("stores", ("store_name",)),
    ("customers", ("email",)),
    ("customers", ("primary_store_id",)),
    ("products", ("sku",)),
    ("products", ("category_id",)),
    ("products", ("type_id",)),
    ("products", ("base_price",)),
    ("product_types", ("category_id",)),
    ("inventory", ("store_id", "product_id")),
    ("inventory", ("product_id",)),
    ("orders", ("store_id", "order_date")),
    ("orders", ("customer_id", "order_date")),
    ("orders", ("order_date",)),
    ("order_items", ("order_id",)),
    ("order_items", ("product_id",)),
    ("order_items", ("store_id", "product_id")),
]


def _columns(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod)
                 FROM pg_attribute a
                WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
                ORDER BY a.attnum""",
            [f"retail.{table}"],
        )
        return dict(cursor.fetchall())


def _indexes(table: str) -> set[tuple[str, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT array_agg(a.attname ORDER BY k.ord)
                 FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE i.indrelid = %s::regclass
                GROUP BY i.indexrelid""",
            [f"retail.{table}"],
        )
        return {tuple(row[0]) for row in cursor.fetchall()}


@pytest.mark.parametrize("table", sorted(REFERENCE_COLUMNS))
def test_reference_table_has_every_column_with_its_type_in_order(database, table):
    # Order matters too: SELECT * and INSERT without a column list depend on it.
    assert list(_columns(table).items()) == list(REFERENCE_COLUMNS[table].items())


@pytest.mark.parametrize(("table", "columns"), EXPECTED_INDEXES)
def test_index_exists(database, table, columns):
    assert any(index[: len(columns)] == columns for index in _indexes(table)), (table, columns)


def test_reference_defaults_hold(database):
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT table_name, column_name, column_default FROM information_schema.columns
                WHERE table_schema = 'retail' AND column_name = ANY(%s)""",
            [["is_online", "gross_margin_percent", "discount_percent", "discount_amount"]],
        )
        defaults = {(t, c): d for t, c, d in cursor.fetchall()}
    assert defaults[("stores", "is_online")] == "false"
    assert defaults[("products", "gross_margin_percent")].startswith("33")
    assert defaults[("order_items", "discount_percent")] == "0"
    assert defaults[("order_items", "discount_amount")].startswith("0")


def _plan_nodes(plan: dict) -> list[dict]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_plan_nodes(child))
    return nodes


def test_a_store_managers_revenue_query_reads_orders_and_lines_from_the_indexes_alone(database):
    """The covering indexes serve it, and seeding left them usable (VACUUM: no heap visits)."""
    from bench.mcp_vs_sql import REVENUE_SQL  # the compared workload b, verbatim
    from retail.tenancy.transaction import tenant_transaction
    from tests.identities import SEATTLE

    with tenant_transaction(SEATTLE.id) as context, context.connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + REVENUE_SQL)
        plan = cursor.fetchone()[0][0]["Plan"]
    scans = [
        node for node in _plan_nodes(plan) if node.get("Relation Name") in {"orders", "order_items"}
    ]
    assert {node["Relation Name"] for node in scans} == {"orders", "order_items"}
    for node in scans:  # every scan of either table, however many the plan has
        assert node["Node Type"] == "Index Only Scan", node
        assert node["Heap Fetches"] <= node["Actual Rows"] // 100, node
    assert {n["Index Name"] for n in scans if n["Relation Name"] == "orders"} == {
        "orders_store_date_cover_idx"
    }
