"""The product catalogue by category and product type: names to choose from, and the
products of one type.

Read in the caller's tenant context through the analytics' fixed-SQL path, like every
other tenant read; the catalogue is the same for every manager, but nothing here
assumes so.
"""

from __future__ import annotations

from retail.errors import InvalidInput
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import MAX_NAME, resolve_category
from retail.tenancy import QueryResult, to_json_value


def category_names() -> list[str]:
    return [row["category_name"] for row in fetch(_CATEGORIES_SQL)]


def product_type_names(category: str | None = None) -> list[str]:
    """Type names, of one category when ``category`` names one (any case), else all."""
    found = resolve_category(category) if category else None
    if found is None:
        return [row["type_name"] for row in fetch(_TYPES_SQL)]
    rows = fetch(_TYPES_OF_CATEGORY_SQL, {"category_id": found.category_id})
    return [row["type_name"] for row in rows]


def products_of_type(category: str, product_type: str) -> QueryResult:
    """The products of one type in one category (names matched in any case), by name."""
    found = resolve_category(category)
    if found is None:
        raise InvalidInput("Name a category.", reason="category")
    rows = fetch(
        _PRODUCTS_SQL, {"category_id": found.category_id, "type_name": product_type.strip()}
    )
    if not rows:
        types = ", ".join(product_type_names(found.category_name))
        raise InvalidInput(
            f"Unknown product type {product_type[:MAX_NAME]!r} in {found.category_name}. "
            f"Valid: {types}.",
            reason="product_type",
        )
    columns = ["product_id", "sku", "product_name", "base_price"]
    return QueryResult(columns, [[to_json_value(row[c]) for c in columns] for row in rows])


_CATEGORIES_SQL = "SELECT category_name FROM retail.categories ORDER BY category_name"
_TYPES_SQL = "SELECT DISTINCT type_name FROM retail.product_types ORDER BY type_name"
_TYPES_OF_CATEGORY_SQL = (
    "SELECT type_name FROM retail.product_types WHERE category_id = %(category_id)s "
    "ORDER BY type_name"
)
_PRODUCTS_SQL = """
SELECT p.product_id, p.sku, p.product_name, p.base_price
  FROM retail.products p
  JOIN retail.product_types t ON t.type_id = p.type_id
 WHERE p.category_id = %(category_id)s AND lower(t.type_name) = lower(%(type_name)s)
 ORDER BY p.product_name
"""
