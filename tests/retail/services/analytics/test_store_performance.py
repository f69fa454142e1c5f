"""get_store_performance against sums worked out by hand, for every kind of manager."""

from __future__ import annotations

from decimal import Decimal

import pytest

from retail.errors import InvalidInput
from retail.services.analytics import get_store_performance, parse_period
from retail.tenancy import run_as_tenant
from tests.identities import EASTERN_ONLINE, MANAGER_KINDS, PUGET_SOUND, SEATTLE, kind_id, store_ids
from tests.retail.services.analytics.expected import TODAY, by, cents, lines, tenth, totals


def _report(spec, period="last_30_days", store=None):
    return run_as_tenant(spec.id, lambda: get_store_performance(period, store, today=TODAY))


def _expected_metrics(rows):
    expected = totals(rows)
    aov = expected.revenue / expected.orders if expected.orders else Decimal(0)
    margin = tenth(expected.gross_margin / expected.revenue * 100) if expected.revenue else None
    return {
        "revenue": cents(expected.revenue),
        "orders": expected.orders,
        "units": expected.units,
        "average_order_value": cents(aov),
        "gross_margin": cents(expected.gross_margin),
        "gross_margin_percent": margin,
    }


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
@pytest.mark.parametrize("period", ["last_30_days", "2025", "last_quarter"])
def test_each_store_matches_hand_computed_sums_for_every_manager_kind(database, spec, period):
    report = _report(spec, period)
    current = parse_period(period, today=TODAY)
    previous = current.previous()
    now = by(lines(current.start, current.end, store_ids(spec)), lambda r: r.store_id)
    before = by(lines(previous.start, previous.end, store_ids(spec)), lambda r: r.store_id)

    assert sorted(s.store_id for s in report.stores) == list(store_ids(spec))
    for store in report.stores:
        assert store.current.__dict__ == _expected_metrics(now.get(store.store_id, []))
        assert store.previous.__dict__ == _expected_metrics(before.get(store.store_id, []))
    assert (report.period.start, report.period.end) == (current.start, current.end)
    assert (report.previous_period.start, report.previous_period.end) == (
        previous.start,
        previous.end,
    )


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
def test_the_total_is_the_sum_of_the_managers_stores(database, spec):
    report = _report(spec, "last_year")
    stores = report.stores
    total = report.total.current
    assert total.orders == sum(s.current.orders for s in stores)
    assert total.units == sum(s.current.units for s in stores)
    revenue = sum(Decimal(str(s.current.revenue)) for s in stores)
    assert Decimal(str(total.revenue)) == revenue
    assert Decimal(str(total.gross_margin)) == sum(
        Decimal(str(s.current.gross_margin)) for s in stores
    )
    period = parse_period("last_year", today=TODAY)
    assert total.__dict__ == _expected_metrics(lines(period.start, period.end, store_ids(spec)))


def test_changes_are_percentages_of_the_previous_period(database):
    report = _report(PUGET_SOUND, "2025")
    for store in report.stores:
        now, before = Decimal(str(store.current.revenue)), Decimal(str(store.previous.revenue))
        assert store.change_percent.revenue == tenth((now - before) / before * 100)
        points = Decimal(str(store.current.gross_margin_percent)) - Decimal(
            str(store.previous.gross_margin_percent)
        )
        assert store.change_percent.gross_margin_percent_points == pytest.approx(
            float(points), abs=0.11
        )


def test_a_store_manager_sees_only_their_store(database):
    report = _report(SEATTLE, "2025")
    assert [s.store for s in report.stores] == ["Zava Retail Seattle"]
    assert report.total.current == report.stores[0].current


def test_a_store_manager_cannot_ask_for_another_store(database):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, "2025", store="Bellevue")
    assert error.value.reason == "store"
    assert "Zava Retail Seattle" in error.value.message
    assert "Bellevue" not in error.value.message.split("(")[1]  # only their own stores listed


def test_a_regional_manager_can_narrow_to_one_store_by_short_or_full_name(database):
    short = _report(PUGET_SOUND, "2025", store="bellevue")
    full = _report(PUGET_SOUND, "2025", store="Zava Retail Bellevue")
    assert [s.store_id for s in short.stores] == [s.store_id for s in full.stores] == [2]
    assert short.total.current == short.stores[0].current


def test_stores_are_ranked_by_revenue(database):
    report = _report(EASTERN_ONLINE, "2025")
    revenues = [s.current.revenue for s in report.stores]
    assert revenues == sorted(revenues, reverse=True)


def test_insights_quote_the_reports_own_figures(database):
    report = _report(PUGET_SOUND, "last_30_days")
    seattle = next(s for s in report.stores if s.store_id == 1)
    change = seattle.change_percent.revenue
    direction = "up" if change > 0 else "down"
    revenue = f"${seattle.current.revenue:,.2f}"
    expected = f"Seattle revenue {revenue}, {direction} {abs(change):.1f}% vs the previous 30 days."
    assert expected in report.insights
    assert report.insights[0].startswith("Across your 6 stores revenue was ")


def test_a_bad_period_is_a_validation_error(database):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, "last_fortnight")
    assert error.value.reason == "period"
    assert "last_30_days" in error.value.message
