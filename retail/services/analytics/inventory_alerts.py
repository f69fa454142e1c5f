"""Inventory alerts: products that will run out within N days at the recent sales rate,
per store the caller can see.

The rate is the units sold in the last ``window_days`` (ending ``today``) divided by
the window; a product runs out within N days when ``stock / rate <= N``, compared in
whole numbers (``stock * window <= N * units``) so no rounding decides an alert.
Products that did not sell in the window have no rate and raise no alert.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from retail.services.analytics.numbers import check_whole_number, plural
from retail.services.analytics.periods import Period, Span, resolve_today
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import resolve_store, short_store_name, visible_stores

MAX_THRESHOLD_DAYS = 365
WINDOW_DAYS = (7, 365)
MAX_LIMIT = 500
_SQL = """
WITH sold AS (
    SELECT oi.store_id, oi.product_id, SUM(oi.quantity) AS units
      FROM retail.order_items oi
      JOIN retail.orders o ON o.order_id = oi.order_id
     WHERE o.order_date BETWEEN %(start)s AND %(end)s
       AND (%(store_id)s::integer IS NULL OR oi.store_id = %(store_id)s::integer)
     GROUP BY oi.store_id, oi.product_id
), running_out AS (
    SELECT i.store_id, i.product_id, i.stock_level, sold.units
      FROM sold
      JOIN retail.inventory i ON i.store_id = sold.store_id AND i.product_id = sold.product_id
     WHERE sold.units > 0
       AND i.stock_level::bigint * %(window)s <= %(threshold)s::bigint * sold.units
)
SELECT r.store_id, s.store_name, r.product_id, p.sku, p.product_name, c.category_name,
       r.stock_level, r.units,
       COUNT(*) OVER () AS alerts,
       (SELECT COUNT(DISTINCT store_id) FROM running_out) AS stores
  FROM running_out r
  JOIN retail.stores s ON s.store_id = r.store_id
  JOIN retail.products p ON p.product_id = r.product_id
  JOIN retail.categories c ON c.category_id = p.category_id
 ORDER BY r.stock_level::numeric / r.units, r.store_id, r.product_id
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class InventoryAlert:
    store_id: int
    store: str
    product_id: int
    sku: str
    product_name: str
    category: str
    stock_level: int
    units_sold: int
    units_per_day: float
    days_of_cover: float
    runs_out_by: date


@dataclass(frozen=True)
class InventoryAlertsReport:
    threshold_days: int
    sales_window: Span
    total_alerts: int
    stores_affected: int
    alerts: list[InventoryAlert]
    insights: list[str]


def get_inventory_alerts(
    threshold_days: int = 14,
    store: str | None = None,
    *,
    window_days: int = 28,
    limit: int = 50,
    today: date | None = None,
) -> InventoryAlertsReport:
    """Stock that lasts ``threshold_days`` or less at the rate of the last ``window_days``."""
    check_whole_number("threshold_days", threshold_days, 1, MAX_THRESHOLD_DAYS)
    check_whole_number("window_days", window_days, *WINDOW_DAYS)
    check_whole_number("limit", limit, 1, MAX_LIMIT)
    end = resolve_today(today)
    window = Period(end - timedelta(days=window_days - 1), end, f"the last {window_days} days")
    chosen = resolve_store(store, visible_stores())
    rows = fetch(
        _SQL,
        {
            "start": window.start,
            "end": window.end,
            "store_id": chosen.store_id if chosen else None,
            "window": window_days,
            "threshold": threshold_days,
            "limit": limit,
        },
    )
    alerts = [_alert(row, window_days, end) for row in rows]
    report = InventoryAlertsReport(
        threshold_days=threshold_days,
        sales_window=window.span(),
        total_alerts=rows[0]["alerts"] if rows else 0,
        stores_affected=rows[0]["stores"] if rows else 0,
        alerts=alerts,
        insights=[],
    )
    return replace(report, insights=_insights(report, window, one_store=chosen is not None))


def _alert(row: dict, window_days: int, today: date) -> InventoryAlert:
    rate = Decimal(row["units"]) / window_days
    stock_days = max(row["stock_level"], 0) * window_days  # days of cover x units sold
    cover = Decimal(stock_days) / row["units"]
    return InventoryAlert(
        store_id=row["store_id"],
        store=row["store_name"],
        product_id=row["product_id"],
        sku=row["sku"],
        product_name=row["product_name"],
        category=row["category_name"],
        stock_level=row["stock_level"],
        units_sold=row["units"],
        units_per_day=float(rate.quantize(Decimal("0.001"), ROUND_HALF_UP)),
        days_of_cover=float(cover.quantize(Decimal("0.1"), ROUND_HALF_UP)),
        runs_out_by=today + timedelta(days=stock_days // row["units"]),
    )


def _insights(report: InventoryAlertsReport, window: Period, *, one_store: bool) -> list[str]:
    within = f"within {plural(report.threshold_days, 'day')} at the sales rate of {window.label}"
    if not report.total_alerts:
        return [f"No product will run out {within}."]
    where = "" if one_store else f" across {plural(report.stores_affected, 'store')}"
    verb = "runs" if report.total_alerts == 1 else "run"
    notes = [f"{plural(report.total_alerts, 'product')}{where} {verb} out {within}."]
    first = report.alerts[0]
    notes.append(
        f"Most urgent: {first.product_name} at {short_store_name(first.store)}, "
        f"{first.stock_level} in stock selling {first.units_per_day:g} a day "
        f"(about {first.days_of_cover:g} days left)."
    )
    if report.total_alerts > len(report.alerts):
        notes.append(f"Showing the {len(report.alerts)} most urgent; raise limit to see more.")
    return notes
