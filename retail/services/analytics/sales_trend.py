"""Sales over time: revenue, orders, units and gross margin per day, week or month.

PostgreSQL sums per day; the days are then grouped into calendar buckets here, so
every bucket of the period appears (empty ones as zero, which a chart needs) and a
bucket cut by the period's edges is flagged as incomplete rather than compared as
if it were whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from retail.errors import InvalidInput
from retail.services.analytics.measures import ORDER_LINES, SALES_TOTALS
from retail.services.analytics.numbers import change_percent, dollars, money
from retail.services.analytics.periods import Period, Span, Unit, parse_period, shift, unit_start
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import resolve_category

GRANULARITIES = ("day", "week", "month")
MAX_POINTS = 800
_SQL = f"""
SELECT o.order_date AS day,
       {SALES_TOTALS}
  FROM {ORDER_LINES}
 WHERE o.order_date BETWEEN %(start)s AND %(end)s
   AND (%(category_id)s::integer IS NULL OR p.category_id = %(category_id)s::integer)
 GROUP BY o.order_date
"""


@dataclass(frozen=True)
class TrendPoint:
    start: date
    end: date
    complete: bool
    revenue: float
    orders: int
    units: int
    gross_margin: float


@dataclass(frozen=True)
class SalesTrendReport:
    period: Span
    granularity: str
    category: str | None
    total_revenue: float
    total_orders: int
    total_units: int
    total_gross_margin: float
    points: list[TrendPoint]
    insights: list[str]


@dataclass
class _Bucket:
    start: date
    end: date
    revenue: Decimal = Decimal(0)
    orders: int = 0
    units: int = 0
    gross_margin: Decimal = Decimal(0)


def get_sales_trend(
    period: str | Period,
    granularity: str = "week",
    category: str | None = None,
    *,
    today: date | None = None,
) -> SalesTrendReport:
    """Sales in ``period`` per ``granularity`` bucket, optionally for one category."""
    if granularity not in GRANULARITIES:
        raise InvalidInput(
            f"granularity must be one of {', '.join(GRANULARITIES)}.", reason="granularity"
        )
    current = period if isinstance(period, Period) else parse_period(period, today=today)
    buckets = _buckets(current, granularity)
    chosen = resolve_category(category)
    rows = fetch(
        _SQL,
        {
            "start": current.start,
            "end": current.end,
            "category_id": chosen.category_id if chosen else None,
        },
    )
    by_start = {bucket.start: bucket for bucket in buckets}
    for row in rows:
        bucket = by_start[_bucket_start(row["day"], granularity)]
        bucket.revenue += row["revenue"]
        bucket.orders += row["orders"]
        bucket.units += row["units"]
        bucket.gross_margin += row["gross_margin"]
    points = [
        TrendPoint(
            start=max(bucket.start, current.start),
            end=min(bucket.end, current.end),
            complete=bucket.start >= current.start and bucket.end <= current.end,
            revenue=money(bucket.revenue),
            orders=bucket.orders,
            units=bucket.units,
            gross_margin=money(bucket.gross_margin),
        )
        for bucket in buckets
    ]
    revenue = sum((bucket.revenue for bucket in buckets), Decimal(0))
    orders = sum(bucket.orders for bucket in buckets)
    return SalesTrendReport(
        period=current.span(),
        granularity=granularity,
        category=chosen.category_name if chosen else None,
        total_revenue=money(revenue),
        total_orders=orders,
        total_units=sum(bucket.units for bucket in buckets),
        total_gross_margin=money(sum((bucket.gross_margin for bucket in buckets), Decimal(0))),
        points=points,
        insights=_insights(points, granularity, current, money(revenue), orders),
    )


def _bucket_start(day: date, granularity: str) -> date:
    return day if granularity == "day" else unit_start(day, Unit(granularity))


def _bucket_count(period: Period, granularity: str) -> int:
    if granularity == "day":
        return period.days
    unit = Unit(granularity)
    first, last = unit_start(period.start, unit), unit_start(period.end, unit)
    if unit is Unit.WEEK:
        return (last - first).days // 7 + 1
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _buckets(period: Period, granularity: str) -> list[_Bucket]:
    count = _bucket_count(period, granularity)
    if count > MAX_POINTS:
        coarser = "week or month" if granularity == "day" else "month"
        raise InvalidInput(
            f"That is more than {MAX_POINTS} {granularity}s; use a shorter period or "
            f"granularity={coarser}.",
            reason="granularity",
        )
    if granularity == "day":
        days = (period.start + timedelta(days=i) for i in range(count))
        return [_Bucket(day, day) for day in days]
    unit = Unit(granularity)
    starts = [shift(unit_start(period.start, unit), unit, i) for i in range(count)]
    return [_Bucket(start, shift(start, unit, 1) - timedelta(days=1)) for start in starts]


def point_label(point: TrendPoint, granularity: str) -> str:
    if granularity == "month":
        return point.start.strftime("%B %Y")
    if granularity == "week":
        return f"the week of {unit_start(point.start, Unit.WEEK).isoformat()}"
    return point.start.isoformat()


def _insights(
    points: list[TrendPoint], granularity: str, period: Period, revenue: float, orders: int
) -> list[str]:
    if not orders:
        return [f"No sales in {period.label}."]
    notes = [f"Revenue in {period.label}: {dollars(revenue)} from {orders:,} orders."]
    whole = [point for point in points if point.complete]
    if len(whole) > 1:
        best = max(whole, key=lambda p: (p.revenue, p.start))
        worst = min(whole, key=lambda p: (p.revenue, p.start))
        notes.append(
            f"Best {granularity}: {point_label(best, granularity)} ({dollars(best.revenue)}); "
            f"weakest: {point_label(worst, granularity)} ({dollars(worst.revenue)})."
        )
        latest, before = whole[-1], whole[-2]
        change = change_percent(Decimal(str(latest.revenue)), Decimal(str(before.revenue)))
        if change is not None:
            direction = "up" if change > 0 else "down" if change < 0 else "unchanged"
            amount = f" {abs(change):.1f}%" if change else ""
            notes.append(
                f"The latest complete {granularity} ({point_label(latest, granularity)}) was "
                f"{direction}{amount} on the {granularity} before."
            )
    return notes
