"""get_sales_trend against buckets summed by hand, for every kind of manager."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from retail.errors import InvalidInput
from retail.services.analytics import get_sales_trend
from retail.tenancy import run_as_tenant
from tests.identities import HEAD_OFFICE, MANAGER_KINDS, PUGET_SOUND, SEATTLE, kind_id, store_ids
from tests.retail.services.analytics.expected import TODAY, cents, lines, totals


def _report(spec, period, granularity="month", category=None):
    return run_as_tenant(
        spec.id, lambda: get_sales_trend(period, granularity, category, today=TODAY)
    )


def _check_points(report, spec, category=None):
    for point in report.points:
        rows = lines(point.start, point.end, store_ids(spec))
        if category:
            rows = [row for row in rows if row.category == category]
        expected = totals(rows)
        assert point.revenue == cents(expected.revenue), point
        assert point.orders == expected.orders, point
        assert point.units == expected.units, point
        assert point.gross_margin == cents(expected.gross_margin), point


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
def test_monthly_buckets_match_hand_computed_sums(database, spec):
    report = _report(spec, "2025", "month")
    assert [p.start for p in report.points] == [date(2025, m, 1) for m in range(1, 13)]
    assert all(p.complete for p in report.points)
    _check_points(report, spec)
    year = totals(lines(date(2025, 1, 1), date(2025, 12, 31), store_ids(spec)))
    assert report.total_revenue == cents(year.revenue)
    assert report.total_orders == year.orders


def test_weekly_buckets_cut_by_the_period_are_marked_incomplete(database):
    report = _report(PUGET_SOUND, "2026-01-01..2026-03-31", "week")
    first, last = report.points[0], report.points[-1]
    assert (first.start, first.end, first.complete) == (date(2026, 1, 1), date(2026, 1, 4), False)
    assert (last.start, last.end, last.complete) == (date(2026, 3, 30), date(2026, 3, 31), False)
    middle = report.points[1:-1]
    assert all(p.complete and p.start.weekday() == 0 for p in middle)
    assert all(p.end - p.start == timedelta(days=6) for p in middle)
    _check_points(report, PUGET_SOUND)


def test_daily_buckets_include_days_without_sales(database):
    report = _report(SEATTLE, "last_30_days", "day")
    assert len(report.points) == 30
    assert report.points[-1].start == TODAY
    assert any(p.orders == 0 for p in report.points)  # a single small store has quiet days
    _check_points(report, SEATTLE)


def test_a_category_trend_counts_only_that_category(database):
    report = _report(HEAD_OFFICE, "last_quarter", "month", category="Paint & Finishes")
    assert report.category == "Paint & Finishes"
    _check_points(report, HEAD_OFFICE, category="Paint & Finishes")


def test_insights_name_the_best_complete_bucket(database):
    report = _report(PUGET_SOUND, "2025", "month")
    best = max(report.points, key=lambda p: p.revenue)
    assert report.insights[0] == (
        f"Revenue in 2025: ${report.total_revenue:,.2f} from {report.total_orders:,} orders."
    )
    assert report.insights[1].startswith(
        f"Best month: {best.start:%B %Y} (${best.revenue:,.2f}); weakest: "
    )


@pytest.mark.parametrize(
    ("period", "granularity", "reason"),
    [
        ("2024", "hour", "granularity"),
        ("2020-01-01..2023-12-31", "day", "granularity"),  # more than 800 points
        ("soon", "week", "period"),
    ],
)
def test_bad_parameters_are_validation_errors(database, period, granularity, reason):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, period, granularity)
    assert error.value.reason == reason
