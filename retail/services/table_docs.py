"""Table documentation for the model: columns, relationships, valid values, hints.

The column lists come from PostgreSQL's catalog once per process (they are the same
for everyone). Valid values depend on who asks: store names are the caller's own
stores and order years are those of the caller's orders, read inside the tenant
context through the data layer's tenant-SQL path, and cached per identity and store
set.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections

from retail.errors import InvalidInput
from retail.services.answer_cache import cached
from retail.tenancy import tenant_cursor


@dataclass(frozen=True)
class TableInfo:
    purpose: str
    hints: tuple[str, ...]


TABLES: dict[str, TableInfo] = {
    "retail.stores": TableInfo(
        "Zava's stores: 7 physical stores in Washington State and 1 online store.",
        (
            "Use is_online to tell the online store from physical stores.",
            "Join orders or order_items on store_id to report by store.",
        ),
    ),
    "retail.customers": TableInfo(
        "Customers, each with a primary store.",
        (
            "Count customers per store with primary_store_id.",
            "Do not show names, emails or phone numbers unless the user asks for them.",
        ),
    ),
    "retail.categories": TableInfo(
        "The 9 product categories.",
        ("Join products on category_id for sales by category.",),
    ),
    "retail.product_types": TableInfo(
        "Product types within each category.",
        ("Join products on type_id; each type belongs to one category.",),
    ),
    "retail.products": TableInfo(
        "The product catalogue with cost, base price and gross margin.",
        (
            "base_price is the list price; order_items.unit_price is what was charged.",
            "For 'products like X' use the semantic_search_products tool instead of LIKE.",
        ),
    ),
    "retail.orders": TableInfo(
        "Customer orders: one row per order, with its store and date. No totals here.",
        (
            "Revenue lives in order_items: SUM(order_items.total_amount).",
            "Filter dates with order_date >= DATE '2024-01-01' AND order_date < DATE '2025-01-01'.",
            "Use date_trunc('month', order_date) for monthly trends.",
        ),
    ),
    "retail.order_items": TableInfo(
        "Order lines: product, quantity, unit price, discount and line total.",
        (
            "Revenue = SUM(total_amount); units = SUM(quantity).",
            "store_id is copied from the order, so store reports need no join to orders.",
            "Join orders on order_id for dates.",
        ),
    ),
    "retail.inventory": TableInfo(
        "Current stock level of every product in every store.",
        ("Join products on product_id for names; low stock: ORDER BY stock_level.",),
    ),
}
VALID_TABLE_NAMES = tuple(TABLES)

# Every valid value in one statement (one round trip). Years with orders are found by
# probing each year from the first order to the last with an index lookup, instead of
# reading every visible order: a few index probes even for head office.
_VALUES_SQL = """
SELECT
  (SELECT string_agg(store_name, ', ' ORDER BY store_name) FROM retail.stores
    WHERE store_id = ANY (retail.visible_store_ids())) AS stores,
  (SELECT string_agg(category_name, ', ' ORDER BY category_name)
     FROM retail.categories) AS categories,
  (SELECT string_agg(type_name, ', ' ORDER BY type_name)
     FROM retail.product_types) AS product_types,
  (SELECT string_agg(y::text, ', ' ORDER BY y)
     FROM generate_series(
            (SELECT extract(year FROM min(order_date))::int FROM retail.orders),
            (SELECT extract(year FROM max(order_date))::int FROM retail.orders)) AS y
    CROSS JOIN LATERAL (SELECT FROM retail.orders
                         WHERE order_date >= make_date(y, 1, 1)
                           AND order_date < make_date(y + 1, 1, 1)
                         LIMIT 1) AS has_orders) AS years
"""
_VALUES_FOR_TABLE = {
    "retail.stores": (("Store names you can see", "stores"),),
    "retail.customers": (("Store names you can see", "stores"),),
    "retail.categories": (("Category names", "categories"),),
    "retail.product_types": (("Product type names", "product_types"),),
    "retail.products": (("Category names", "categories"),),
    "retail.orders": (("Store names you can see", "stores"), ("Years with orders", "years")),
    "retail.order_items": (("Store names you can see", "stores"), ("Years with orders", "years")),
    "retail.inventory": (("Store names you can see", "stores"),),
}

_structure_lock = threading.Lock()
_structure: dict[str, tuple[str, list[str]]] | None = None


def normalise_table_names(table_names: list[str]) -> list[str]:
    """Validated, de-duplicated, schema-qualified names; accepts 'orders' for 'retail.orders'."""
    if not table_names:
        raise InvalidInput(f"Give at least one table name. Valid: {', '.join(VALID_TABLE_NAMES)}.")
    names: list[str] = []
    unknown: list[str] = []
    for raw in table_names:
        name = str(raw).strip().lower()
        name = name if "." in name else f"retail.{name}"
        if name not in TABLES:
            unknown.append(str(raw)[:64])
        elif name not in names:
            names.append(name)
    if unknown:
        raise InvalidInput(
            f"Unknown table(s): {', '.join(unknown)}. Valid: {', '.join(VALID_TABLE_NAMES)}."
        )
    return names


def describe_tables(table_names: list[str]) -> str:
    """Markdown documentation of the tables, in the reference's layout."""
    names = normalise_table_names(table_names)
    values = _valid_values()
    structure = _table_structure()
    return "\n\n".join(_describe(name, structure[name], values) for name in names)


def _describe(name: str, structure: tuple[str, list[str]], values: dict[str, str]) -> str:
    columns, relationships = structure
    info = TABLES[name]
    lines = [f"# Table: {name}", f"Purpose: {info.purpose}", "## Schema", columns]
    lines += ["## Relationships", *(relationships or ["- none"])]
    valid = [
        f"- {label}: {values[key] or '(none)'}" for label, key in _VALUES_FOR_TABLE.get(name, ())
    ]
    if valid:
        lines += ["## Valid Values", *valid]
    lines += ["## Query Hints", *(f"- {hint}" for hint in info.hints)]
    return "\n".join(lines)


def _valid_values() -> dict[str, str]:
    """Per-identity values, read in the caller's tenant context (cached for that scope)."""
    return cached("table-docs", "valid-values", _read_valid_values)


def _read_valid_values() -> dict[str, str]:
    with tenant_cursor() as cursor:
        cursor.execute(_VALUES_SQL)
        row = cursor.fetchone()
        names = [column.name for column in cursor.description or ()]
    assert row is not None  # scalar subqueries only: always exactly one row
    return {name: value or "" for name, value in zip(names, row, strict=True)}


def _table_structure() -> dict[str, tuple[str, list[str]]]:
    """Columns ('name:type, ...') and foreign keys of every table, read once per process."""
    global _structure
    if _structure is None:
        with _structure_lock, connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            structure: dict[str, tuple[str, list[str]]] = {}
            for name in TABLES:
                cursor.execute(
                    "SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ', ' "
                    "ORDER BY attnum) FROM pg_attribute WHERE attrelid = %s::regclass "
                    "AND attnum > 0 AND NOT attisdropped",
                    [name],
                )
                columns = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT a.attname, c.confrelid::regclass::text, fa.attname "
                    "FROM pg_constraint c "
                    "JOIN pg_attribute a "
                    "  ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                    "JOIN pg_attribute fa "
                    "  ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
                    "WHERE c.conrelid = %s::regclass AND c.contype = 'f' ORDER BY a.attnum",
                    [name],
                )
                relationships = [
                    f"- {col} → {table}({ref})" for col, table, ref in cursor.fetchall()
                ]
                structure[name] = (columns, relationships)
            _structure = structure
    return _structure
