"""The dashboard's read models, checked against plain SQL on the seeded data."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from retail.models import AuditedRequest
from retail.services.dashboard import (
    latest_order_date,
    sales_by_store,
    tool_call_volume,
    top_categories,
)
from tests.conftest import SEED_END_DATE


def sql(query: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall()


def test_the_window_ends_with_the_month_of_the_latest_order(database):
    assert latest_order_date() == SEED_END_DATE
    sales = sales_by_store(months=12)
    assert sales.months[0] == date(2025, 7, 1)
    assert sales.months[-1] == date(2026, 6, 1)
    assert sales.end == date(2026, 6, 30)
    assert len(sales.stores) == 8


def test_revenue_and_orders_per_store_and_month_match_sql(database):
    sales = sales_by_store(months=3)
    expected = {
        (store, month): (revenue, orders)
        for store, month, revenue, orders in sql(
            """
            SELECT o.store_id, date_trunc('month', o.order_date)::date,
                   sum(i.total_amount), count(DISTINCT o.order_id)
              FROM retail.orders o JOIN retail.order_items i USING (order_id)
             WHERE o.order_date >= %s AND o.order_date <= %s
             GROUP BY 1, 2
            """,
            [sales.start, sales.end],
        )
    }
    for store in sales.stores:
        for month, revenue, orders in zip(sales.months, store.revenue, store.orders, strict=True):
            assert (revenue, orders) == expected.get((store.store_id, month), (Decimal("0.00"), 0))
    total = sql(
        "SELECT sum(total_amount) FROM retail.order_items i JOIN retail.orders o "
        "USING (order_id) WHERE o.order_date BETWEEN %s AND %s",
        [sales.start, sales.end],
    )[0][0]
    assert sales.total_revenue == total


def test_the_admin_sees_every_stores_rows_despite_forced_rls(database):
    sales = sales_by_store(months=12)
    assert all(store.total_orders > 0 for store in sales.stores)


def test_top_categories_are_sorted_by_revenue_and_match_sql(database):
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    top = top_categories(start=start, end=end, limit=3)
    expected = sql(
        """
        SELECT c.category_name, sum(i.total_amount)
          FROM retail.order_items i
          JOIN retail.orders o USING (order_id)
          JOIN retail.products p USING (product_id)
          JOIN retail.categories c ON c.category_id = p.category_id
         WHERE o.order_date BETWEEN %s AND %s
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3
        """,
        [start, end],
    )
    assert [(c.category_name, c.revenue) for c in top] == expected


@pytest.fixture
def calls(database):
    """Tool calls today and two days ago, removed after the test."""
    now = timezone.now()
    made = []
    for days_ago, outcome in ((0, "ok"), (0, "ok"), (0, "timeout"), (2, "refused")):
        call = AuditedRequest.objects.create(tool="dashboard-test", outcome=outcome)
        AuditedRequest.objects.filter(pk=call.pk).update(created_at=now - timedelta(days=days_ago))
        made.append(call.pk)
    yield now
    AuditedRequest.objects.filter(pk__in=made).delete()


def test_tool_call_volume_counts_each_day_and_outcome(calls):
    before = {d.day: d.by_outcome for d in tool_call_volume(days=3, now=calls)}
    AuditedRequest.objects.filter(tool="dashboard-test").delete()
    after = {d.day: d.by_outcome for d in tool_call_volume(days=3, now=calls)}
    today = timezone.localdate(calls)

    assert list(before) == [today - timedelta(days=2), today - timedelta(days=1), today]
    assert before[today].get("ok", 0) - after[today].get("ok", 0) == 2
    assert before[today].get("timeout", 0) - after[today].get("timeout", 0) == 1
    two_days_ago = today - timedelta(days=2)
    assert before[two_days_ago].get("refused", 0) - after[two_days_ago].get("refused", 0) == 1


def test_a_day_without_calls_has_no_error_rate(database):
    long_ago = datetime(2001, 1, 1, 12, tzinfo=timezone.get_current_timezone())
    (day,) = tool_call_volume(days=1, now=long_ago)
    assert (day.total, day.error_rate) == (0, None)


def test_months_covered_to_their_end_are_complete(database):
    sales = sales_by_store(months=3)  # the seed ends on 30 June 2026, long past
    assert sales.complete == [True, True, True]
    assert sales.first_partial is None


def test_the_month_in_progress_is_partial(database):
    sales = sales_by_store(months=3, until=date(2026, 6, 15), today=date(2026, 6, 15))
    assert sales.months[-1] == date(2026, 6, 1)
    assert sales.complete == [True, True, False]
    assert sales.first_partial == 2
    assert sales.until == date(2026, 6, 15)


def test_the_last_day_of_a_month_is_still_in_progress(database):
    sales = sales_by_store(months=2, until=date(2026, 6, 30), today=date(2026, 6, 30))
    assert sales.complete == [True, False]
    assert sales_by_store(months=2, today=date(2026, 7, 1)).complete == [True, True]
