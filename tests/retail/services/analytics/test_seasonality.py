"""get_category_seasonality against monthly sums and shares worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from retail.errors import InvalidInput
from retail.services.analytics import get_category_seasonality
from retail.tenancy import run_as_tenant
from tests.identities import HEAD_OFFICE, MANAGER_KINDS, SEATTLE, kind_id, store_ids
from tests.retail.services.analytics.expected import TODAY, cents, lines


def _report(spec, category=None, today=TODAY):
    return run_as_tenant(spec.id, lambda: get_category_seasonality(category, today=today))


def _monthly(spec, category=None) -> dict[int, list[Decimal]]:
    revenue: dict[int, list[Decimal]] = {}
    for row in lines(date(2000, 1, 1), TODAY, store_ids(spec)):
        if category and row.category != category:
            continue
        months = revenue.setdefault(row.order_date.year, [Decimal(0)] * 12)
        months[row.order_date.month - 1] += row.total_amount
    return revenue


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
@pytest.mark.parametrize("category", [None, "Power Tools"])
def test_monthly_revenue_and_shape_match_hand_computed_ones(database, spec, category):
    report = _report(spec, category)
    monthly = _monthly(spec, category)
    assert [y.year for y in report.years] == sorted(monthly)
    for year in report.years:
        expected = [cents(v) for v in monthly[year.year]]
        if year.year == TODAY.year:
            expected = expected[: TODAY.month] + [None] * (12 - TODAY.month)
        assert year.monthly_revenue == expected
    complete = [y for y in sorted(monthly) if y < TODAY.year and all(monthly[y])]
    assert report.complete_years == complete
    if not complete:
        assert report.shape == []
        return
    for month, shape in enumerate(report.shape):
        share = sum(monthly[y][month] / sum(monthly[y]) for y in complete) / len(complete)
        assert shape.share_percent == pytest.approx(float(share * 100), abs=0.051)
        assert shape.index == pytest.approx(float(share * 1200), abs=0.051)
    assert sum(s.share_percent for s in report.shape) == pytest.approx(100, abs=0.6)


def test_the_insight_names_the_peak_and_the_quietest_month(database):
    report = _report(HEAD_OFFICE)
    peak = max(report.shape, key=lambda s: s.index)
    low = min(report.shape, key=lambda s: s.index)
    assert report.insights[0].startswith(f"Sales peak in {peak.name} (index {peak.index:g}")
    assert f"lowest in {low.name} (index {low.index:g})" in report.insights[0]
    assert report.insights[0].endswith("over 6 complete years (2020-2025).")


def test_the_current_year_is_compared_with_the_same_months_of_the_last(database):
    report = _report(SEATTLE)
    monthly = _monthly(SEATTLE)
    now, before = sum(monthly[2026][:5]), sum(monthly[2025][:5])
    change = float(((now - before) / before * 100).quantize(Decimal("0.1")))
    direction = "up" if change >= 0 else "down"
    assert report.insights[1] == (
        f"2026 to the end of May is {direction} {abs(change):.1f}% on the same months of 2025."
    )


def test_today_hides_the_months_still_to_come(database):
    report = _report(HEAD_OFFICE, today=date(2025, 3, 15))
    assert [y.year for y in report.years][-1] == 2025
    assert report.years[-1].monthly_revenue[3:] == [None] * 9
    assert report.complete_years == [2020, 2021, 2022, 2023, 2024]


def test_an_unknown_category_lists_the_valid_ones(database):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, "Garden Gnomes")
    assert error.value.reason == "category"
    assert "Power Tools" in error.value.message
