"""Best-selling products in a period, by revenue, units or gross margin, across the
caller's stores (optionally within one category).

The totals cover every product in scope, not just the top ones, so each product's
share of revenue says how much of the business it really is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from retail.errors import InvalidInput
from retail.services.analytics.measures import GROSS_MARGIN, ORDER_LINES, SALES_TOTALS
from retail.services.analytics.numbers import check_whole_number, dollars, money, percent
from retail.services.analytics.periods import Period, Span, parse_period
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import resolve_category

RANKINGS = ("revenue", "units", "margin")
MAX_LIMIT = 100
_ORDER = {
    "revenue": "revenue DESC",
    "units": "units DESC",
    "margin": "gross_margin DESC",
}
_SQL = """
SELECT p.product_id, p.sku, p.product_name, c.category_name,
       {sales_totals},
       SUM(SUM(oi.total_amount)) OVER () AS all_revenue,
       (SUM(SUM(oi.quantity)) OVER ())::bigint AS all_units,
       SUM(SUM({gross_margin})) OVER () AS all_gross_margin,
       COUNT(*) OVER () AS products_sold
  FROM {order_lines}
  JOIN retail.categories c ON c.category_id = p.category_id
 WHERE o.order_date BETWEEN %(start)s AND %(end)s
   AND (%(category_id)s::integer IS NULL OR p.category_id = %(category_id)s::integer)
 GROUP BY p.product_id, p.sku, p.product_name, c.category_name
 ORDER BY {order}, p.product_id
 LIMIT %(limit)s
"""


@dataclass(frozen=True)
class ProductSales:
    rank: int
    product_id: int
    sku: str
    product_name: str
    category: str
    revenue: float
    units: int
    orders: int
    gross_margin: float
    gross_margin_percent: float | None
    revenue_share_percent: float | None


@dataclass(frozen=True)
class TopProductsReport:
    period: Span
    by: str
    category: str | None
    limit: int
    products_sold: int
    total_revenue: float
    total_units: int
    total_gross_margin: float
    products: list[ProductSales]
    insights: list[str]


def get_top_products(
    period: str | Period,
    by: str = "revenue",
    category: str | None = None,
    limit: int = 10,
    *,
    today: date | None = None,
) -> TopProductsReport:
    """The ``limit`` best products of ``period`` ranked ``by`` revenue, units or margin."""
    if by not in RANKINGS:
        raise InvalidInput(f"by must be one of {', '.join(RANKINGS)}.", reason="by")
    check_whole_number("limit", limit, 1, MAX_LIMIT)
    current = period if isinstance(period, Period) else parse_period(period, today=today)
    chosen = resolve_category(category)
    rows = fetch(
        _SQL.format(
            order=_ORDER[by],
            order_lines=ORDER_LINES,
            sales_totals=SALES_TOTALS,
            gross_margin=GROSS_MARGIN,
        ),
        {
            "start": current.start,
            "end": current.end,
            "category_id": chosen.category_id if chosen else None,
            "limit": limit,
        },
    )
    first = rows[0] if rows else {}
    all_revenue = first.get("all_revenue") or Decimal(0)
    products = [
        ProductSales(
            rank=rank,
            product_id=row["product_id"],
            sku=row["sku"],
            product_name=row["product_name"],
            category=row["category_name"],
            revenue=money(row["revenue"]),
            units=row["units"],
            orders=row["orders"],
            gross_margin=money(row["gross_margin"]),
            gross_margin_percent=percent(row["gross_margin"], row["revenue"]),
            revenue_share_percent=percent(row["revenue"], all_revenue),
        )
        for rank, row in enumerate(rows, start=1)
    ]
    report = TopProductsReport(
        period=current.span(),
        by=by,
        category=chosen.category_name if chosen else None,
        limit=limit,
        products_sold=first.get("products_sold", 0),
        total_revenue=money(all_revenue),
        total_units=first.get("all_units") or 0,
        total_gross_margin=money(first.get("all_gross_margin")),
        products=products,
        insights=[],
    )
    return replace(report, insights=_insights(report, current))


def _insights(report: TopProductsReport, period: Period) -> list[str]:
    scope = f" in {report.category}" if report.category else ""
    if not report.products:
        return [f"No products{scope} sold in {period.label}."]
    top = report.products[0]
    measure = {
        "revenue": dollars(top.revenue) + " revenue",
        "units": f"{top.units:,} units",
        "margin": dollars(top.gross_margin) + " gross margin",
    }[report.by]
    notes = [
        f"Top product{scope} by {report.by} in {period.label}: {top.product_name} ({measure})."
    ]
    shown = report.products
    share = percent(sum(Decimal(str(p.revenue)) for p in shown), Decimal(str(report.total_revenue)))
    if share is not None and report.products_sold > len(shown):
        notes.append(
            f"These {len(shown)} products made {share:.1f}% of the revenue of the "
            f"{report.products_sold} products{scope} that sold."
        )
    margins = [p for p in shown if p.gross_margin_percent is not None]
    if len(margins) > 1:
        best = max(margins, key=lambda p: (p.gross_margin_percent, -p.rank))
        notes.append(
            f"Highest margin rate among them: {best.product_name} at "
            f"{best.gross_margin_percent:.1f}%."
        )
    return notes
