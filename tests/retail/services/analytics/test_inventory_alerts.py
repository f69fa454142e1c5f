"""get_inventory_alerts against run-out dates worked out by hand, per kind of manager."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from retail.errors import InvalidInput
from retail.services.analytics import get_inventory_alerts
from retail.tenancy import run_as_tenant
from tests.identities import HEAD_OFFICE, MANAGER_KINDS, PUGET_SOUND, SEATTLE, kind_id, store_ids
from tests.retail.services.analytics.expected import TODAY, lines, owner_rows


def _report(spec, threshold=14, store=None, window=28, limit=500):
    return run_as_tenant(
        spec.id,
        lambda: get_inventory_alerts(
            threshold, store, window_days=window, limit=limit, today=TODAY
        ),
    )


def _expected(spec, threshold: int, window: int) -> list[tuple[int, int, Fraction]]:
    """(store_id, product_id, days of cover) of every product that runs out in time."""
    sold: dict[tuple[int, int], int] = {}
    for row in lines(TODAY - timedelta(days=window - 1), TODAY, store_ids(spec)):
        key = (row.store_id, row.product_id)
        sold[key] = sold.get(key, 0) + row.quantity
    stock = dict(
        ((store, product), level)
        for store, product, level in owner_rows(
            "SELECT store_id, product_id, stock_level FROM retail.inventory"
        )
    )
    alerts = []
    for key, units in sold.items():
        cover = Fraction(stock[key] * window, units)  # exact: ties stay ties
        if cover <= threshold:
            alerts.append((*key, cover))
    return sorted(alerts, key=lambda a: (a[2], a[0], a[1]))


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
@pytest.mark.parametrize(("threshold", "window"), [(14, 28), (365, 28), (365, 365)])
def test_alerts_match_hand_computed_days_of_cover(database, spec, threshold, window):
    report = _report(spec, threshold, window=window)
    expected = _expected(spec, threshold, window)
    assert [(a.store_id, a.product_id) for a in report.alerts] == [e[:2] for e in expected]
    for alert, (_, _, cover) in zip(report.alerts, expected, strict=True):
        assert alert.days_of_cover == pytest.approx(float(cover), abs=0.05)
        assert alert.runs_out_by == TODAY + timedelta(days=int(cover))
        assert alert.store_id in store_ids(spec)
    assert report.total_alerts == len(expected)
    assert report.stores_affected == len({e[0] for e in expected})


def test_a_long_threshold_finds_alerts_in_the_small_dataset(database):
    assert _report(HEAD_OFFICE, 365).total_alerts > 1


def test_a_store_manager_gets_alerts_for_their_store_only(database):
    report = _report(SEATTLE, 365)
    assert {a.store for a in report.alerts} == {"Zava Retail Seattle"}
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, 365, store="Tacoma")
    assert error.value.reason == "store"


def test_a_regional_manager_can_narrow_to_one_store(database):
    everything = _report(PUGET_SOUND, 365)
    kirkland = _report(PUGET_SOUND, 365, store="Kirkland")
    assert kirkland.alerts
    assert kirkland.alerts == [a for a in everything.alerts if a.store_id == 7]


def test_the_limit_keeps_the_most_urgent_and_says_so(database):
    everything = _report(HEAD_OFFICE, 365)
    assert everything.total_alerts >= 2
    first = _report(HEAD_OFFICE, 365, limit=1)
    assert first.alerts == everything.alerts[:1]
    assert first.total_alerts == everything.total_alerts
    assert first.insights[-1] == "Showing the 1 most urgent; raise limit to see more."


def test_no_alerts_says_so_in_plain_words(database):
    report = _report(SEATTLE, 1, window=7)
    assert report.alerts == []
    assert report.insights == [
        "No product will run out within 1 day at the sales rate of the last 7 days."
    ]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"threshold": 0}, "threshold_days"),
        ({"threshold": 366}, "threshold_days"),
        ({"window": 3}, "window_days"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_parameters_are_validation_errors(database, kwargs, reason):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, **kwargs)
    assert error.value.reason == reason
