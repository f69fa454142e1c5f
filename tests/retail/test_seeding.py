"""Seeding is deterministic, never dates orders in the future and keeps the reference's shape."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from retail.services.product_embeddings import embed_products
from retail.services.seeding import (
    HEAD_OFFICE_ID,
    MANAGERS,
    STORES,
    AlreadySeeded,
    load_catalog,
    seed_retail,
)
from tests.conftest import SEED, SEED_CUSTOMERS, SEED_END_DATE


def _fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _aggregates() -> tuple:
    return (
        _fetch("SELECT count(*), sum(total_amount), sum(quantity) FROM retail.order_items")[0],
        _fetch(
            "SELECT store_id, count(*), max(order_date) FROM retail.orders GROUP BY 1 ORDER BY 1"
        ),
        _fetch("SELECT sum(stock_level), count(*) FROM retail.inventory")[0],
        _fetch("SELECT md5(string_agg(email, ',' ORDER BY customer_id)) FROM retail.customers")[0],
    )


def _reseed(seed: int) -> None:
    seed_retail(customers=SEED_CUSTOMERS, seed=seed, end_date=SEED_END_DATE, reset=True)


@pytest.mark.slow
def test_the_same_seed_gives_the_same_data_and_another_seed_does_not(database):
    before = _aggregates()
    try:
        _reseed(SEED + 1)
        other = _aggregates()
        _reseed(SEED)
        again = _aggregates()
    finally:
        _reseed(SEED)  # leave the shared dataset as the session seeded it
        embed_products()  # TRUNCATE ... CASCADE emptied the embeddings too
    assert again == before
    assert other != before


def test_seeding_twice_without_reset_is_refused(database):
    with pytest.raises(AlreadySeeded):
        seed_retail(customers=10, seed=1)


def test_the_command_refuses_a_seeded_schema_but_if_empty_is_a_no_op(database):
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_retail", "--customers", "10", verbosity=0)
    out = StringIO()
    call_command("seed_retail", "--if-empty", stdout=out, verbosity=0)
    assert "already seeded" in out.getvalue()


def test_no_order_is_dated_after_the_end_date(database):
    first, last = _fetch("SELECT min(order_date), max(order_date) FROM retail.orders")[0]
    assert first.year == 2020
    assert last <= SEED_END_DATE
    assert (SEED_END_DATE - last).days < 7


def test_seattle_and_online_are_the_busiest_stores(database):
    busiest = _fetch(
        "SELECT s.store_name FROM retail.orders o JOIN retail.stores s USING (store_id) "
        "GROUP BY s.store_name ORDER BY count(*) DESC LIMIT 2"
    )
    assert {row[0] for row in busiest} == {"Zava Retail Seattle", "Zava Retail Online"}


def test_every_product_has_inventory_in_every_store(database):
    missing = _fetch(
        "SELECT count(*) FROM retail.stores s CROSS JOIN retail.products p "
        "LEFT JOIN retail.inventory i ON i.store_id = s.store_id AND i.product_id = p.product_id "
        "WHERE i.product_id IS NULL"
    )[0][0]
    assert missing == 0
    assert _fetch("SELECT min(stock_level) FROM retail.inventory")[0][0] >= 0


def test_later_years_sell_more_than_2020(database):
    per_year = dict(
        _fetch("SELECT extract(year FROM order_date)::int, count(*) FROM retail.orders GROUP BY 1")
    )
    assert per_year[2025] > per_year[2020]


def test_items_follow_the_reference_rules(database):
    (bad_items, bad_qty, bad_discount, bad_total, discounted, total) = _fetch(
        """SELECT
             (SELECT count(*) FROM (SELECT order_id FROM retail.order_items GROUP BY order_id
                                    HAVING count(*) NOT BETWEEN 1 AND 5) x),
             count(*) FILTER (WHERE quantity NOT BETWEEN 1 AND 5),
             count(*) FILTER (WHERE discount_percent <> 0
                                AND discount_percent NOT BETWEEN 5 AND 25),
             count(*) FILTER (WHERE abs(unit_price * quantity - discount_amount - total_amount)
                                > 0.011),
             count(*) FILTER (WHERE discount_percent > 0),
             count(*)
           FROM retail.order_items"""
    )[0]
    assert (bad_items, bad_qty, bad_discount, bad_total) == (0, 0, 0, 0)
    assert 0.10 < discounted / total < 0.20
    orphan_orders = _fetch(
        "SELECT count(*) FROM retail.orders o WHERE NOT EXISTS "
        "(SELECT 1 FROM retail.order_items i WHERE i.order_id = o.order_id)"
    )[0][0]
    assert orphan_orders == 0


def test_order_items_carry_their_orders_store(database):
    mismatched = _fetch(
        "SELECT count(*) FROM retail.order_items i JOIN retail.orders o USING (order_id) "
        "WHERE i.store_id <> o.store_id"
    )[0][0]
    assert mismatched == 0


def test_prices_keep_a_33_percent_margin(database):
    for cost, price in _fetch("SELECT cost, base_price FROM retail.products"):
        assert abs(price - cost / Decimal("0.67")) <= Decimal("0.01")


def test_garden_sales_peak_in_spring(database):
    by_month = dict(
        _fetch(
            "SELECT extract(month FROM o.order_date)::int, sum(i.quantity) "
            "FROM retail.order_items i JOIN retail.orders o USING (order_id) "
            "JOIN retail.products p USING (product_id) JOIN retail.categories c "
            "ON c.category_id = p.category_id WHERE c.category_name = 'Garden & Outdoor' GROUP BY 1"
        )
    )
    spring = sum(by_month[m] for m in (4, 5, 6))
    winter = sum(by_month[m] for m in (11, 12, 1))
    assert spring > 1.5 * winter


def test_the_fixed_managers_and_stores_exist_with_the_reference_identities(database):
    stores = dict(_fetch("SELECT store_name, rls_user_id FROM retail.stores"))
    assert stores == {s.name: s.manager_id for s in STORES}
    managers = dict(_fetch("SELECT id, kind FROM tenancy_managers"))
    assert {m.id for m in MANAGERS} <= set(managers)
    assert managers[HEAD_OFFICE_ID] == "head_office"
    assert _fetch(
        "SELECT is_online FROM retail.stores WHERE store_name = 'Zava Retail Online'"
    ) == [(True,)]


def test_the_catalogue_has_nine_categories_and_over_400_unique_products():
    catalog = load_catalog()
    names = [p["name"] for c in catalog for t in c["types"] for p in t["products"]]
    assert len(catalog) == 9
    assert len(names) >= 400
    assert len(set(names)) == len(names)
    assert all(len(c["seasonality"]) == 12 for c in catalog)
