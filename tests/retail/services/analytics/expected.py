"""Expected answers worked out independently of the services.

Rows are read as the owner role (which RLS lets see every store) with plain SQL that
does no aggregation, and summed here in Python, so a test never checks the services'
SQL against itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection

from tests.conftest import SEED_END_DATE

TODAY = SEED_END_DATE


@dataclass(frozen=True)
class Line:
    store_id: int
    order_id: int
    order_date: date
    product_id: int
    sku: str
    product_name: str
    category: str
    quantity: int
    total_amount: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.total_amount - self.cost * self.quantity


def lines(start: date, end: date, stores: tuple[int, ...]) -> list[Line]:
    """Every order line of ``stores`` dated ``start``..``end``, read as the owner."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oi.store_id, oi.order_id, o.order_date, p.product_id, p.sku, "
            "p.product_name, c.category_name, oi.quantity, oi.total_amount, p.cost "
            "FROM retail.order_items oi "
            "JOIN retail.orders o ON o.order_id = oi.order_id "
            "JOIN retail.products p ON p.product_id = oi.product_id "
            "JOIN retail.categories c ON c.category_id = p.category_id "
            "WHERE o.order_date BETWEEN %s AND %s AND oi.store_id = ANY(%s)",
            [start, end, list(stores)],
        )
        return [Line(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Totals:
    revenue: Decimal
    orders: int
    units: int
    gross_margin: Decimal


def totals(rows: list[Line]) -> Totals:
    return Totals(
        revenue=sum((row.total_amount for row in rows), Decimal(0)),
        orders=len({row.order_id for row in rows}),
        units=sum(row.quantity for row in rows),
        gross_margin=sum((row.margin for row in rows), Decimal(0)),
    )


def by(rows: list[Line], key) -> dict:
    groups: dict = defaultdict(list)
    for row in rows:
        groups[key(row)].append(row)
    return groups


def cents(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01"), ROUND_HALF_UP))


def tenth(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.1"), ROUND_HALF_UP))


def owner_rows(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()
