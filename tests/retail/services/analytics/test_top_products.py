"""get_top_products against rankings worked out by hand, for every kind of manager."""

from __future__ import annotations

from decimal import Decimal

import pytest

from retail.errors import InvalidInput
from retail.services.analytics import get_top_products, parse_period
from retail.tenancy import run_as_tenant
from tests.identities import MANAGER_KINDS, PUGET_SOUND, SEATTLE, kind_id, store_ids
from tests.retail.services.analytics.expected import TODAY, by, cents, lines, tenth, totals


def _report(spec, period="2025", ranking="revenue", category=None, limit=10):
    return run_as_tenant(
        spec.id, lambda: get_top_products(period, ranking, category, limit, today=TODAY)
    )


def _expected(spec, period: str, ranking: str, category: str | None, limit: int):
    """(product_id, revenue, units, orders, margin) of the top products, and the totals."""
    span = parse_period(period, today=TODAY)
    rows = lines(span.start, span.end, store_ids(spec))
    if category:
        rows = [row for row in rows if row.category == category]
    products = []
    for product_id, group in by(rows, lambda r: r.product_id).items():
        sums = totals(group)
        products.append((product_id, group[0].product_name, sums))
    metric = {
        "revenue": lambda p: p[2].revenue,
        "units": lambda p: p[2].units,
        "margin": lambda p: p[2].gross_margin,
    }[ranking]
    products.sort(key=lambda p: p[0])  # ties go to the lower product id
    products.sort(key=metric, reverse=True)
    return products[:limit], totals(rows), len(products)


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
@pytest.mark.parametrize("ranking", ["revenue", "units", "margin"])
def test_the_ranking_matches_a_hand_computed_one(database, spec, ranking):
    report = _report(spec, "2025", ranking)
    top, everything, sold = _expected(spec, "2025", ranking, None, 10)
    assert [p.product_id for p in report.products] == [p[0] for p in top]
    for product, (_, _, sums) in zip(report.products, top, strict=True):
        assert product.revenue == cents(sums.revenue)
        assert product.units == sums.units
        assert product.orders == sums.orders
        assert product.gross_margin == cents(sums.gross_margin)
        assert product.revenue_share_percent == tenth(sums.revenue / everything.revenue * 100)
    assert [p.rank for p in report.products] == list(range(1, len(top) + 1))
    assert report.total_revenue == cents(everything.revenue)
    assert report.total_units == everything.units
    assert report.total_gross_margin == cents(everything.gross_margin)
    assert report.products_sold == sold


@pytest.mark.parametrize("spec", [SEATTLE, PUGET_SOUND], ids=kind_id)
def test_a_category_limits_the_products_and_the_totals(database, spec):
    report = _report(spec, "last_year", "units", category="power tools", limit=5)
    top, everything, _ = _expected(spec, "last_year", "units", "Power Tools", 5)
    assert report.category == "Power Tools"
    assert {p.category for p in report.products} == {"Power Tools"}
    assert [p.product_id for p in report.products] == [p[0] for p in top]
    assert report.total_revenue == cents(everything.revenue)


def test_a_store_manager_ranks_only_their_own_stores_sales(database):
    seattle = _report(SEATTLE, "2025")
    top, everything, _ = _expected(SEATTLE, "2025", "revenue", None, 10)
    assert [p.product_id for p in seattle.products] == [p[0] for p in top]
    assert seattle.total_revenue == cents(everything.revenue)
    regional = _report(PUGET_SOUND, "2025")
    assert regional.total_revenue > seattle.total_revenue


def test_the_insights_name_the_top_product_and_the_share_of_the_shown_ones(database):
    report = _report(PUGET_SOUND, "2025", limit=3)
    top = report.products[0]
    assert report.insights[0] == (
        f"Top product by revenue in 2025: {top.product_name} (${top.revenue:,.2f} revenue)."
    )
    shown = sum(Decimal(str(p.revenue)) for p in report.products)
    share = tenth(shown / Decimal(str(report.total_revenue)) * 100)
    assert f"These 3 products made {share:.1f}% of the revenue" in report.insights[1]


def test_a_period_without_sales_says_so(database):
    report = _report(SEATTLE, "2019")
    assert report.products == []
    assert report.total_revenue == 0
    assert report.insights == ["No products sold in 2019."]


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"ranking": "price"}, "by"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"category": "Garden Gnomes"}, "category"),
        ({"period": "2024-13"}, "period"),
    ],
)
def test_bad_parameters_are_validation_errors(database, kwargs, reason):
    with pytest.raises(InvalidInput) as error:
        _report(SEATTLE, **kwargs)
    assert error.value.reason == reason
