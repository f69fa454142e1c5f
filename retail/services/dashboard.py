"""Read models of the head-office dashboard: sales per store, top categories, tool calls.

Each function returns evaluated, plain data (dataclasses and lists), so templates
run no query and the numbers can be checked against SQL directly. The admin reads
with the owner role, whose ``owner_all`` policy shows every store's rows.

The sales window ends with the month of the latest order rather than today, so a
dataset that stops in the past (a demo or the tests' seed) still shows its last
months instead of an empty chart. A month the data does not cover to its end (the
current one, usually) is marked incomplete, as the analytics tools mark buckets
``complete: false``: its totals are not comparable with whole months.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from retail.models import AuditedRequest, Order, OrderItem, Outcome, Store

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StoreSales:
    store_id: int
    store_name: str
    is_online: bool
    revenue: list[Decimal]  # one value per month of the window
    orders: list[int]

    @property
    def total_revenue(self) -> Decimal:
        return sum(self.revenue, ZERO)

    @property
    def total_orders(self) -> int:
        return sum(self.orders)


@dataclass(frozen=True)
class SalesOverTime:
    months: list[date]  # first day of each month, oldest first
    stores: list[StoreSales]
    complete: list[bool] = field(default_factory=list)  # per month: covered to its last day
    until: date | None = None  # the last day with data in the window

    @property
    def first_partial(self) -> int | None:
        """Index of the first month not covered to its end, if any (only ever the last)."""
        return next((i for i, done in enumerate(self.complete) if not done), None)

    @property
    def start(self) -> date | None:
        return self.months[0] if self.months else None

    @property
    def end(self) -> date | None:
        """The last day of the window."""
        return _month_after(self.months[-1]) - timedelta(days=1) if self.months else None

    @property
    def total_revenue(self) -> Decimal:
        return sum((s.total_revenue for s in self.stores), ZERO)

    @property
    def total_orders(self) -> int:
        return sum(s.total_orders for s in self.stores)


@dataclass(frozen=True)
class CategoryRevenue:
    category_name: str
    revenue: Decimal
    units: int


@dataclass(frozen=True)
class ToolCallDay:
    day: date
    by_outcome: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_outcome.values())

    @property
    def failed(self) -> int:
        return self.total - self.by_outcome.get(Outcome.OK, 0)

    @property
    def error_rate(self) -> float | None:
        """Share of calls that did not succeed, or None on a day without calls."""
        return self.failed / self.total if self.total else None


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _months_back(last: date, count: int) -> list[date]:
    months = [date(last.year, last.month, 1)]
    while len(months) < count:
        previous = months[0] - timedelta(days=1)
        months.insert(0, date(previous.year, previous.month, 1))
    return months


def latest_order_date() -> date | None:
    return Order.objects.aggregate(latest=Max("order_date"))["latest"]


def sales_by_store(
    *, months: int = 12, until: date | None = None, today: date | None = None
) -> SalesOverTime:
    """Revenue and orders per store and month, for ``months`` months up to ``until``.

    ``until`` defaults to the latest order's date; its whole month is included. A
    month is complete when it ended on or before ``until`` and before ``today`` (UTC),
    so the month in progress never counts as a whole one.
    """
    if months < 1:
        raise ValueError("months must be at least 1")
    until = until or latest_order_date()
    stores = list(Store.objects.order_by("store_id"))
    if until is None:
        return SalesOverTime(months=[], stores=[])
    window = _months_back(until, months)
    start, stop = window[0], _month_after(window[-1])
    today = today or timezone.localdate()
    complete = [
        _month_after(m) - timedelta(days=1) <= until and _month_after(m) <= today for m in window
    ]

    revenue = {
        (row["store_id"], row["month"]): row["revenue"]
        for row in OrderItem.objects.filter(
            order__order_date__gte=start, order__order_date__lt=stop
        )
        .annotate(month=TruncMonth("order__order_date"))
        .values("store_id", "month")
        .annotate(revenue=Sum("total_amount"))
        .order_by()
    }
    orders = {
        (row["store_id"], row["month"]): row["orders"]
        for row in Order.objects.filter(order_date__gte=start, order_date__lt=stop)
        .annotate(month=TruncMonth("order_date"))
        .values("store_id", "month")
        .annotate(orders=Count("order_id"))
        .order_by()
    }
    return SalesOverTime(
        months=window,
        stores=[
            StoreSales(
                store_id=store.store_id,
                store_name=store.store_name,
                is_online=store.is_online,
                revenue=[revenue.get((store.store_id, m), ZERO) for m in window],
                orders=[orders.get((store.store_id, m), 0) for m in window],
            )
            for store in stores
        ],
        complete=complete,
        until=until,
    )


def top_categories(*, start: date, end: date, limit: int = 9) -> list[CategoryRevenue]:
    """Categories by revenue of orders dated ``start`` to ``end`` inclusive, best first."""
    rows = (
        OrderItem.objects.filter(order__order_date__gte=start, order__order_date__lte=end)
        .values("product__category__category_name")
        .annotate(revenue=Sum("total_amount"), units=Sum("quantity"))
        .order_by("-revenue", "product__category__category_name")[:limit]
    )
    return [
        CategoryRevenue(
            category_name=row["product__category__category_name"],
            revenue=row["revenue"],
            units=row["units"],
        )
        for row in rows
    ]


def tool_call_volume(*, days: int = 14, now: datetime | None = None) -> list[ToolCallDay]:
    """Tool calls per UTC day and outcome for the last ``days`` days, today included."""
    if days < 1:
        raise ValueError("days must be at least 1")
    today = timezone.localdate(now or timezone.now())
    first = today - timedelta(days=days - 1)
    counts: dict[date, dict[str, int]] = {first + timedelta(days=i): {} for i in range(days)}
    rows = (
        AuditedRequest.objects.filter(created_at__date__gte=first, created_at__date__lte=today)
        .annotate(day=TruncDate("created_at"))
        .values("day", "outcome")
        .annotate(calls=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["day"]][row["outcome"]] = row["calls"]
    return [ToolCallDay(day=day, by_outcome=outcomes) for day, outcomes in counts.items()]
