"""Store performance: revenue, orders, units, average order value and gross margin per
store the caller can see, against the period before.

Gross margin is revenue minus cost (``measures.GROSS_MARGIN``).
Totals are summed from the exact per-store figures, so a regional manager's total is
the sum of their stores to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from retail.services.analytics.measures import ORDER_LINES, SALES_TOTALS
from retail.services.analytics.numbers import (
    change_percent,
    change_phrase,
    dollars,
    money,
    percent,
    ratio,
    tenth,
)
from retail.services.analytics.periods import Period, Span, parse_period
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import (
    StoreRef,
    resolve_store,
    short_store_name,
    visible_stores,
)

_SQL = f"""
SELECT oi.store_id,
       o.order_date >= %(start)s AS is_current,
       {SALES_TOTALS}
  FROM {ORDER_LINES}
 WHERE (o.order_date BETWEEN %(start)s AND %(end)s
        OR o.order_date BETWEEN %(previous_start)s AND %(previous_end)s)
   AND (%(store_id)s::integer IS NULL OR oi.store_id = %(store_id)s::integer)
 GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Metrics:
    revenue: float
    orders: int
    units: int
    average_order_value: float
    gross_margin: float
    gross_margin_percent: float | None


@dataclass(frozen=True)
class Change:
    """Percent change against the previous period (None where it had nothing)."""

    revenue: float | None
    orders: float | None
    units: float | None
    average_order_value: float | None
    gross_margin: float | None
    gross_margin_percent_points: float | None


@dataclass(frozen=True)
class Performance:
    current: Metrics
    previous: Metrics
    change_percent: Change


@dataclass(frozen=True)
class StorePerformance:
    store_id: int
    store: str
    is_online: bool
    current: Metrics
    previous: Metrics
    change_percent: Change


@dataclass(frozen=True)
class StorePerformanceReport:
    period: Span
    previous_period: Span
    stores: list[StorePerformance]
    total: Performance
    insights: list[str]


@dataclass
class _Sums:
    revenue: Decimal = Decimal(0)
    orders: int = 0
    units: int = 0
    gross_margin: Decimal = Decimal(0)

    def add(self, other: _Sums) -> None:
        self.revenue += other.revenue
        self.orders += other.orders
        self.units += other.units
        self.gross_margin += other.gross_margin

    @property
    def average_order_value(self) -> Decimal:
        return ratio(self.revenue, self.orders) or Decimal(0)

    @property
    def margin_share(self) -> Decimal | None:
        return ratio(self.gross_margin, self.revenue)

    def metrics(self) -> Metrics:
        return Metrics(
            revenue=money(self.revenue),
            orders=self.orders,
            units=self.units,
            average_order_value=money(self.average_order_value),
            gross_margin=money(self.gross_margin),
            gross_margin_percent=percent(self.gross_margin, self.revenue),
        )


@dataclass
class _Pair:
    current: _Sums = field(default_factory=_Sums)
    previous: _Sums = field(default_factory=_Sums)

    def performance(self) -> Performance:
        now, before = self.current, self.previous
        points = None
        if now.margin_share is not None and before.margin_share is not None:
            points = tenth((now.margin_share - before.margin_share) * 100)
        change = Change(
            revenue=change_percent(now.revenue, before.revenue),
            orders=change_percent(now.orders, before.orders),
            units=change_percent(now.units, before.units),
            average_order_value=change_percent(now.average_order_value, before.average_order_value),
            gross_margin=change_percent(now.gross_margin, before.gross_margin),
            gross_margin_percent_points=points,
        )
        return Performance(now.metrics(), before.metrics(), change)


def get_store_performance(
    period: str | Period, store: str | None = None, *, today: date | None = None
) -> StorePerformanceReport:
    """Each of the caller's stores (or the one named) in ``period`` and the period before."""
    current = period if isinstance(period, Period) else parse_period(period, today=today)
    previous = current.previous()
    stores = visible_stores()
    chosen = resolve_store(store, stores)
    if chosen is not None:
        stores = [chosen]
    pairs = {s.store_id: _Pair() for s in stores}
    rows = fetch(
        _SQL,
        {
            "start": current.start,
            "end": current.end,
            "previous_start": previous.start,
            "previous_end": previous.end,
            "store_id": chosen.store_id if chosen else None,
        },
    )
    for row in rows:
        pair = pairs.get(row["store_id"])
        if pair is None:  # cannot happen under RLS; never report a store not listed
            continue
        sums = pair.current if row["is_current"] else pair.previous
        sums.add(_Sums(row["revenue"], row["orders"], row["units"], row["gross_margin"]))

    total = _Pair()
    for pair in pairs.values():
        total.current.add(pair.current)
        total.previous.add(pair.previous)
    results = [_store_result(s, pairs[s.store_id].performance()) for s in stores]
    results.sort(key=lambda r: (-r.current.revenue, r.store_id))
    overall = total.performance()
    return StorePerformanceReport(
        period=current.span(),
        previous_period=previous.span(),
        stores=results,
        total=overall,
        insights=_insights(results, overall, current, previous),
    )


def _store_result(store: StoreRef, performance: Performance) -> StorePerformance:
    return StorePerformance(
        store_id=store.store_id,
        store=store.store_name,
        is_online=store.is_online,
        current=performance.current,
        previous=performance.previous,
        change_percent=performance.change_percent,
    )


def _insights(
    stores: list[StorePerformance], total: Performance, current: Period, previous: Period
) -> list[str]:
    if not stores:
        return ["You have no stores assigned, so there is nothing to report."]
    notes: list[str] = []
    if len(stores) > 1:
        phrase = change_phrase(total.change_percent.revenue, total.previous.revenue, previous.label)
        notes.append(
            f"Across your {len(stores)} stores revenue was {dollars(total.current.revenue)} in "
            f"{current.label}, {phrase}."
        )
    for result in stores:
        name = short_store_name(result.store)
        if not result.current.orders:
            notes.append(f"{name} had no sales in {current.label}.")
            continue
        phrase = change_phrase(
            result.change_percent.revenue, result.previous.revenue, previous.label
        )
        notes.append(f"{name} revenue {dollars(result.current.revenue)}, {phrase}.")
    if total.current.orders:
        orders = change_phrase(total.change_percent.orders, total.previous.orders, previous.label)
        value = change_phrase(
            total.change_percent.average_order_value,
            total.previous.average_order_value,
            previous.label,
        )
        notes.append(
            f"{total.current.orders:,} orders ({orders}) at an average of "
            f"{dollars(total.current.average_order_value)} ({value})."
        )
    selling = [r for r in stores if r.current.revenue > 0]
    if len(selling) > 1:
        leader = selling[0]
        share = percent(Decimal(str(leader.current.revenue)), Decimal(str(total.current.revenue)))
        notes.append(
            f"{short_store_name(leader.store)} brought in the most revenue, {share:.1f}% of the "
            "total."
        )
        best = max(selling, key=lambda r: (r.current.gross_margin_percent or 0, -r.store_id))
        notes.append(
            f"Best gross margin: {short_store_name(best.store)} at "
            f"{best.current.gross_margin_percent:.1f}%."
        )
    return notes
