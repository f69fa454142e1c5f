"""Category seasonality: how sales spread over the months of a year, year after year.

Each complete year (every month before ``today``'s year, with sales in all twelve) is
turned into monthly shares of that year's revenue, and the shares are averaged, so
growth from one year to the next does not distort the shape. An index of 100 is an
average month; 130 is 30% above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from retail.services.analytics.measures import ORDER_LINES
from retail.services.analytics.numbers import change_percent, money, plural, tenth
from retail.services.analytics.periods import resolve_today
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import resolve_category

MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_SQL = f"""
SELECT extract(year FROM o.order_date)::integer AS year,
       extract(month FROM o.order_date)::integer AS month,
       SUM(oi.total_amount) AS revenue
  FROM {ORDER_LINES}
 WHERE o.order_date <= %(today)s
   AND (%(category_id)s::integer IS NULL OR p.category_id = %(category_id)s::integer)
 GROUP BY 1, 2
"""


@dataclass(frozen=True)
class MonthShape:
    month: int
    name: str
    share_percent: float
    index: float


@dataclass(frozen=True)
class YearSales:
    year: int
    complete: bool
    total_revenue: float
    monthly_revenue: list[float | None]  # January first; None for months still to come


@dataclass(frozen=True)
class SeasonalityReport:
    category: str | None
    complete_years: list[int]
    shape: list[MonthShape]
    years: list[YearSales]
    insights: list[str]


def get_category_seasonality(
    category: str | None = None, *, today: date | None = None
) -> SeasonalityReport:
    """Monthly revenue per year and the average monthly shape, for one category or all."""
    today = resolve_today(today)
    chosen = resolve_category(category)
    rows = fetch(_SQL, {"today": today, "category_id": chosen.category_id if chosen else None})
    revenue: dict[int, list[Decimal]] = {}
    for row in rows:
        revenue.setdefault(row["year"], [Decimal(0)] * 12)[row["month"] - 1] = row["revenue"]
    complete = sorted(year for year, months in revenue.items() if year < today.year and all(months))
    shares: list[Decimal] = []
    if complete:
        yearly = [[value / sum(revenue[year]) for value in revenue[year]] for year in complete]
        shares = [sum(month, Decimal(0)) / len(complete) for month in zip(*yearly, strict=True)]
    shape = [
        MonthShape(m + 1, MONTHS[m], tenth(share * 100), tenth(share * 1200))
        for m, share in enumerate(shares)
    ]
    years = [
        YearSales(
            year=year,
            complete=year in complete,
            total_revenue=money(sum(revenue[year])),
            monthly_revenue=[
                None if (year, m + 1) > (today.year, today.month) else money(value)
                for m, value in enumerate(revenue[year])
            ],
        )
        for year in sorted(revenue)
    ]
    name = chosen.category_name if chosen else None
    return SeasonalityReport(
        category=name,
        complete_years=complete,
        shape=shape,
        years=years,
        insights=_insights(name, complete, shape, revenue, today),
    )


def _insights(
    category: str | None,
    complete: list[int],
    shape: list[MonthShape],
    revenue: dict[int, list[Decimal]],
    today: date,
) -> list[str]:
    what = category or "Sales"
    if not revenue:
        return [f"No sales{' in ' + category if category else ''} yet."]
    if not shape:
        return [f"{what}: no complete year of sales yet, so there is no seasonal shape."]
    peak = max(shape, key=lambda s: (s.index, -s.month))
    low = min(shape, key=lambda s: (s.index, s.month))
    contiguous = complete[-1] - complete[0] + 1 == len(complete) > 1
    years = f"{complete[0]}-{complete[-1]}" if contiguous else ", ".join(map(str, complete))
    notes = [
        f"{what} peak in {peak.name} (index {peak.index:g}, {peak.index - 100:+.1f}% vs an "
        f"average month) and are lowest in {low.name} (index {low.index:g}), over "
        f"{plural(len(complete), 'complete year')} ({years})."
    ]
    months_done = today.month - 1
    this_year, last_year = revenue.get(today.year), revenue.get(today.year - 1)
    if months_done and this_year and last_year:
        now, before = sum(this_year[:months_done]), sum(last_year[:months_done])
        change = change_percent(now, before)
        if change is not None:
            through = MONTHS[months_done - 1]
            direction = f"up {change:.1f}%" if change >= 0 else f"down {abs(change):.1f}%"
            notes.append(
                f"{today.year} to the end of {through} is {direction} on the same months of "
                f"{today.year - 1}."
            )
    return notes
