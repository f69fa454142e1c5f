"""Deterministic seeding of the retail schema, bulk-loaded with COPY.

The distributions follow the reference system (store weights and order frequency,
orders per customer, items per order, quantities, discounts, year weights, monthly
seasonality per category), generated with NumPy from one seed, so a seed and an end
date always give the same data. Orders run from 2020 up to the end date (today by
default), never later.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import numpy as np
from django.db import connection, transaction

from retail.errors import InvalidInput
from retail.models import ManagerKind
from retail.models.retail_schema import RLS_TABLES

CATALOG_PATH = Path(__file__).resolve().parent.parent / "seed_data" / "catalog.json"


@dataclass(frozen=True)
class StoreSpec:
    name: str
    manager_id: UUID
    customer_weight: int
    order_frequency: float
    is_online: bool = False


STORES = (
    StoreSpec("Zava Retail Seattle", UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479"), 30, 3.0),
    StoreSpec("Zava Retail Bellevue", UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8"), 25, 2.6),
    StoreSpec("Zava Retail Tacoma", UUID("a1b2c3d4-e5f6-7890-abcd-ef1234567890"), 20, 2.4),
    StoreSpec("Zava Retail Spokane", UUID("d8e9f0a1-b2c3-4567-8901-234567890abc"), 8, 2.0),
    StoreSpec("Zava Retail Everett", UUID("3b9ac9fa-cd5e-4b92-a7f2-b8c1d0e9f2a3"), 7, 1.8),
    StoreSpec("Zava Retail Redmond", UUID("e7f8a9b0-c1d2-3e4f-5678-90abcdef1234"), 6, 1.6),
    StoreSpec("Zava Retail Kirkland", UUID("9c8b7a65-4321-fed0-9876-543210fedcba"), 4, 1.4),
    StoreSpec(
        "Zava Retail Online", UUID("2f4e6d8c-1a3b-5c7e-9f0a-b2d4f6e8c0a2"), 30, 3.0, is_online=True
    ),
)


@dataclass(frozen=True)
class ManagerSpec:
    id: UUID
    name: str
    email: str
    kind: str
    stores: tuple[str, ...] = ()


HEAD_OFFICE_ID = UUID("00000000-0000-0000-0000-000000000000")
PUGET_SOUND_ID = UUID("7d3c2b1a-0f9e-4d8c-b7a6-5e4d3c2b1a09")
EASTERN_ONLINE_ID = UUID("c0ffee00-1d2e-4f3a-9b8c-7d6e5f4a3b2c")


def _city(store_name: str) -> str:
    return store_name.removeprefix("Zava Retail ")


MANAGERS = (
    *(
        ManagerSpec(
            s.manager_id,
            f"{_city(s.name)} store manager",
            f"{_city(s.name).lower()}.manager@zava.example",
            ManagerKind.STORE,
            (s.name,),
        )
        for s in STORES
    ),
    ManagerSpec(HEAD_OFFICE_ID, "Head office", "head.office@zava.example", ManagerKind.HEAD_OFFICE),
    ManagerSpec(
        PUGET_SOUND_ID,
        "Puget Sound regional manager",
        "puget.sound@zava.example",
        ManagerKind.REGIONAL,
        tuple(
            f"Zava Retail {c}"
            for c in ("Seattle", "Bellevue", "Tacoma", "Everett", "Redmond", "Kirkland")
        ),
    ),
    ManagerSpec(
        EASTERN_ONLINE_ID,
        "Eastern & Online regional manager",
        "eastern.online@zava.example",
        ManagerKind.REGIONAL,
        ("Zava Retail Spokane", "Zava Retail Online"),
    ),
)

ORDERS_PER_CUSTOMER = (np.arange(6), np.array([20, 40, 20, 10, 7, 3]) / 100)
ITEMS_PER_ORDER = (np.arange(1, 6), np.array([40, 30, 15, 10, 5]) / 100)
QUANTITY = (np.arange(1, 6), np.array([60, 25, 10, 3, 2]) / 100)
YEAR_WEIGHTS = {2020: 1.0, 2021: 1.1, 2022: 1.21, 2023: 1.15, 2024: 1.265, 2025: 1.392, 2026: 1.531}
MAIN_CATEGORY_SHARE = 0.9
DISCOUNT_SHARE = 0.15
MARGIN_DIVISOR = Decimal("0.67")  # base_price = cost / 0.67, a 33% gross margin

FIRST_NAMES = """
Aiden Amara Ava Benjamin Bianca Caleb Camila Chloe Daniel Diego Elena Eli Emily Ethan
Fatima Finn Grace Hana Harper Hiroshi Isaac Isla Jack Jasmine Jonah Kai Kenji Layla Leo
Liam Lucia Luna Maya Mei Mia Mohammed Nadia Noah Nora Olivia Omar Owen Priya Quinn
Rafael Riley Rosa Ruby Samuel Sara Sofia Tariq Theo Uma Victor Wyatt Xavier Yara Zoe
""".split()  # noqa: SIM905 - a word list reads better as text
LAST_NAMES = """
Anderson Baker Bennett Brooks Campbell Carter Chen Cho Clark Collins Cruz Davis Diaz
Evans Fischer Flores Foster Garcia Gonzalez Gupta Hall Harris Hayes Hughes Ito Jensen
Johnson Kaur Kim Larsen Lee Lopez Martin Mendoza Miller Morgan Murphy Nakamura Nguyen
Olsen Ortiz Park Patel Perez Peterson Ramirez Reed Rivera Roberts Sanchez Schmidt Singh
Sullivan Tanaka Torres Turner Walker Wang Watson Wilson Wright Young
""".split()  # noqa: SIM905 - a word list reads better as text
AREA_CODES = {
    "Seattle": 206,
    "Bellevue": 425,
    "Tacoma": 253,
    "Spokane": 509,
    "Everett": 425,
    "Redmond": 425,
    "Kirkland": 425,
    "Online": 360,
}

RETAIL_TABLES = (
    "order_items",
    "orders",
    "inventory",
    "customers",
    "products",
    "product_types",
    "categories",
    "stores",
)


class AlreadySeeded(InvalidInput):
    """The schema holds data; seeding again needs an explicit reset."""


@dataclass
class SeedSummary:
    rows: dict[str, int] = field(default_factory=dict)
    first_order: date | None = None
    last_order: date | None = None


ProgressCallback = Callable[[str, int], None]


def load_catalog(path: Path | None = None) -> list[dict]:
    """Categories, their seasonality and product types, each with its products."""
    return json.loads((path or CATALOG_PATH).read_text(encoding="utf-8"))["categories"]


def seed_retail(
    *,
    customers: int = 50_000,
    seed: int = 42,
    reset: bool = False,
    end_date: date | None = None,
    progress: ProgressCallback | None = None,
) -> SeedSummary:
    """Fill the retail schema and the seeded managers in one transaction."""
    if customers < 1:
        raise InvalidInput("At least one customer is needed.")
    end_date = end_date or datetime.now(UTC).date()
    if end_date.year < min(YEAR_WEIGHTS):
        raise InvalidInput(f"The end date must be in {min(YEAR_WEIGHTS)} or later.")
    report = progress or (lambda step, rows: None)
    rng = np.random.default_rng(seed)
    catalog = load_catalog()

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM retail.stores)")
        if cursor.fetchone()[0]:
            if not reset:
                raise AlreadySeeded(
                    "The retail schema is already seeded; use --reset to replace it."
                )
            tables = ", ".join(f"retail.{t}" for t in RETAIL_TABLES)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        # COPY FROM refuses tables under forced RLS. The owner lifts FORCE for the
        # load and restores it before commit; other sessions never see the gap.
        for table in RLS_TABLES:
            cursor.execute(f"ALTER TABLE retail.{table} NO FORCE ROW LEVEL SECURITY")

        loader = _Loader(cursor.cursor, report)
        summary = _generate(rng, catalog, customers, end_date, loader)
        _seed_managers(cursor)
        # Cached tool answers are keyed by this version: none survives a re-seed.
        cursor.execute(
            "UPDATE zava_private.data_version SET version = version + 1, changed_at = now()"
        )

        # Check the deferred foreign keys now: ALTER TABLE refuses pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in RLS_TABLES:
            cursor.execute(f"ALTER TABLE retail.{table} FORCE ROW LEVEL SECURITY")
        for table in RETAIL_TABLES:
            id_column = _ID_COLUMNS.get(table)
            if id_column:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('retail.{table}', '{id_column}'), "
                    f"coalesce(max({id_column}), 0) + 1, false) FROM retail.{table}"
                )
    # Statistics for the planner, and (VACUUM) the visibility map that lets the covering
    # indexes answer from the index alone from the first query on. VACUUM cannot run
    # inside a transaction, so a caller's open one (a test's) gets ANALYZE only.
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        for table in RETAIL_TABLES:
            cursor.execute(f"{command} retail.{table}")
    return summary


_ID_COLUMNS = {
    "stores": "store_id",
    "customers": "customer_id",
    "categories": "category_id",
    "product_types": "type_id",
    "products": "product_id",
    "orders": "order_id",
    "order_items": "order_item_id",
}


class _Loader:
    """Streams generated columns into ``COPY ... FROM STDIN`` in chunks."""

    CHUNK = 50_000

    def __init__(self, raw_cursor, report: ProgressCallback) -> None:
        self.cursor = raw_cursor
        self.report = report
        self.rows: dict[str, int] = {}

    def copy(self, table: str, columns: Iterable[str], data: list[np.ndarray]) -> None:
        count = len(data[0])
        statement = f"COPY retail.{table} ({', '.join(columns)}) FROM STDIN"
        with self.cursor.copy(statement) as copy:
            for start in range(0, count, self.CHUNK):
                stop = min(start + self.CHUNK, count)
                copy.write(_as_copy_text([column[start:stop] for column in data]))
                self.report(table, stop - start)
        self.rows[table] = count


def _as_copy_text(columns: list[np.ndarray]) -> str:
    """Tab-separated COPY text; values never contain tabs, newlines or backslashes."""
    buffer = io.StringIO()
    for row in zip(*(column.astype(str) for column in columns), strict=True):
        buffer.write("\t".join(row))
        buffer.write("\n")
    return buffer.getvalue()


def _generate(
    rng: np.random.Generator, catalog: list[dict], n_customers: int, end: date, loader: _Loader
) -> SeedSummary:
    n_stores = len(STORES)
    store_ids = np.arange(1, n_stores + 1)
    weights = np.array([s.customer_weight for s in STORES], dtype=float)
    weights /= weights.sum()
    frequency = np.array([s.order_frequency for s in STORES])

    loader.copy(
        "stores",
        ["store_id", "store_name", "rls_user_id", "is_online"],
        [
            store_ids,
            np.array([s.name for s in STORES]),
            np.array([str(s.manager_id) for s in STORES]),
            np.array(["t" if s.is_online else "f" for s in STORES]),
        ],
    )

    # Catalogue: categories, types and products, with SKUs derived from positions.
    cat_names, type_rows, product_rows = [], [], []
    seasonality = np.array([c["seasonality"] for c in catalog], dtype=float)  # (categories, 12)
    for ci, category in enumerate(catalog, start=1):
        cat_names.append(category["name"])
        for type_entry in category["types"]:
            type_rows.append((ci, type_entry["name"]))
            type_id = len(type_rows)
            for pi, product in enumerate(type_entry["products"], start=1):
                cost = Decimal(str(product["cost"])).quantize(Decimal("0.01"))
                price = (cost / MARGIN_DIVISOR).quantize(Decimal("0.01"))
                sku = f"ZV-{ci:02d}{type_id:03d}-{pi:02d}"
                product_rows.append(
                    (sku, product["name"], ci, type_id, cost, price, product["description"])
                )
    loader.copy(
        "categories",
        ["category_id", "category_name"],
        [np.arange(1, len(cat_names) + 1), np.array(cat_names)],
    )
    loader.copy(
        "product_types",
        ["type_id", "category_id", "type_name"],
        [np.arange(1, len(type_rows) + 1), *map(np.array, zip(*type_rows, strict=True))],
    )
    n_products = len(product_rows)
    columns = list(zip(*product_rows, strict=True))
    loader.copy(
        "products",
        [
            "product_id",
            "sku",
            "product_name",
            "category_id",
            "type_id",
            "cost",
            "base_price",
            "product_description",
        ],
        [np.arange(1, n_products + 1), *(np.array(c) for c in columns)],
    )
    product_category = np.array(columns[2]) - 1  # 0-based category of each product
    base_price = np.array([float(p) for p in columns[5]])

    # Customers: primary store by customer weight.
    primary = rng.choice(n_stores, size=n_customers, p=weights)
    first = rng.choice(FIRST_NAMES, size=n_customers)
    last = rng.choice(LAST_NAMES, size=n_customers)
    customer_ids = np.arange(1, n_customers + 1)
    emails = np.char.lower(
        np.char.add(
            np.char.add(np.char.add(first, "."), last), np.char.mod("%d@example.com", customer_ids)
        )
    )
    area = np.array([AREA_CODES[_city(s.name)] for s in STORES])[primary]
    phones = np.char.mod("(%d) ", area)
    phones = np.char.add(phones, np.char.mod("555-%04d", rng.integers(0, 10_000, n_customers)))
    start = np.datetime64("2019-06-01T00:00:00")
    span = int(
        (np.datetime64(end.isoformat()) - np.datetime64("2019-06-01")) / np.timedelta64(1, "s")
    )
    created = start + rng.integers(0, max(span, 1), n_customers).astype("timedelta64[s]")
    loader.copy(
        "customers",
        [
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "primary_store_id",
            "created_at",
        ],
        [
            customer_ids,
            first,
            last,
            emails,
            phones,
            store_ids[primary],
            np.datetime_as_string(created),
        ],
    )

    # Orders: count per customer scaled by the primary store's frequency, at least one.
    base = rng.choice(ORDERS_PER_CUSTOMER[0], size=n_customers, p=ORDERS_PER_CUSTOMER[1])
    per_customer = np.maximum(1, np.floor(base * frequency[primary]).astype(int))
    n_orders = int(per_customer.sum())
    order_customer = np.repeat(customer_ids, per_customer)
    order_store = rng.choice(n_stores, size=n_orders, p=weights)
    order_dates = _order_dates(rng, n_orders, end)
    order_by_date = np.argsort(order_dates, kind="stable")
    order_dates, order_customer, order_store = (
        order_dates[order_by_date],
        order_customer[order_by_date],
        order_store[order_by_date],
    )
    order_ids = np.arange(1, n_orders + 1)
    loader.copy(
        "orders",
        ["order_id", "customer_id", "store_id", "order_date"],
        [order_ids, order_customer, store_ids[order_store], np.datetime_as_string(order_dates)],
    )

    # Items: one seasonal main category per order, 90% of items from it.
    months = order_dates.astype("datetime64[M]").astype(int) % 12
    season = seasonality[:, months].T  # (orders, categories)
    cumulative = np.cumsum(season / season.sum(axis=1, keepdims=True), axis=1)
    main_category = (cumulative < rng.random(n_orders)[:, None]).sum(axis=1)
    main_category = np.minimum(main_category, len(catalog) - 1)
    items_per_order = rng.choice(ITEMS_PER_ORDER[0], size=n_orders, p=ITEMS_PER_ORDER[1])
    n_items = int(items_per_order.sum())
    item_order = np.repeat(np.arange(n_orders), items_per_order)
    item_category = np.where(
        rng.random(n_items) < MAIN_CATEGORY_SHARE,
        main_category[item_order],
        rng.integers(0, len(catalog), n_items),
    )
    by_category = [np.flatnonzero(product_category == c) for c in range(len(catalog))]
    counts = np.array([len(p) for p in by_category])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat_products = np.concatenate(by_category)
    pick = offsets[item_category] + (rng.random(n_items) * counts[item_category]).astype(int)
    item_product = flat_products[pick]
    quantity = rng.choice(QUANTITY[0], size=n_items, p=QUANTITY[1])
    unit_price = np.round(base_price[item_product] * rng.uniform(0.8, 1.2, n_items), 2)
    discounted = rng.random(n_items) < DISCOUNT_SHARE
    discount_percent = np.where(discounted, rng.integers(5, 26, n_items), 0)
    gross = np.round(unit_price * quantity, 2)
    discount_amount = np.round(gross * discount_percent / 100, 2)
    total = np.round(gross - discount_amount, 2)
    loader.copy(
        "order_items",
        [
            "order_item_id",
            "order_id",
            "store_id",
            "product_id",
            "quantity",
            "unit_price",
            "discount_percent",
            "discount_amount",
            "total_amount",
        ],
        [
            np.arange(1, n_items + 1),
            order_ids[item_order],
            store_ids[order_store[item_order]],
            item_product + 1,
            quantity,
            np.char.mod("%.2f", unit_price),
            discount_percent,
            np.char.mod("%.2f", discount_amount),
            np.char.mod("%.2f", total),
        ],
    )

    # Inventory: every store stocks every product, scaled by store size and season.
    month_now = end.month - 1
    store_scale = 0.5 + weights * n_stores  # around 1.0 for an average store
    base_stock = rng.integers(10, 120, (n_stores, n_products))
    season_now = seasonality[product_category, month_now]
    stock = np.round(base_stock * store_scale[:, None] * season_now[None, :]).astype(int)
    loader.copy(
        "inventory",
        ["store_id", "product_id", "stock_level"],
        [
            np.repeat(store_ids, n_products),
            np.tile(np.arange(1, n_products + 1), n_stores),
            stock.ravel(),
        ],
    )
    return SeedSummary(
        rows=dict(loader.rows),
        first_order=order_dates[0].astype(object),
        last_order=order_dates[-1].astype(object),
    )


def _order_dates(rng: np.random.Generator, n: int, end: date) -> np.ndarray:
    """Order dates by the reference's year weights, uniform within a year, never after ``end``."""
    years = np.array([y for y in YEAR_WEIGHTS if y <= end.year])
    weights = np.array([YEAR_WEIGHTS[y] for y in years])
    # A partial last year gets its weight scaled by the share of the year that has passed.
    first_day = np.array([np.datetime64(f"{y}-01-01") for y in years])
    last_day = np.array([np.datetime64(min(date(y, 12, 31), end).isoformat()) for y in years])
    days = (last_day - first_day).astype(int) + 1
    weights = weights * days / np.array([366 if y % 4 == 0 else 365 for y in years])
    year_index = rng.choice(len(years), size=n, p=weights / weights.sum())
    offsets = (rng.random(n) * days[year_index]).astype(int)
    return first_day[year_index] + offsets.astype("timedelta64[D]")


def _seed_managers(cursor) -> None:
    """Upsert the fixed managers and replace their mappings."""
    now = datetime.now(UTC)
    for spec in MANAGERS:
        cursor.execute(
            """INSERT INTO tenancy_managers
                      (id, name, email, kind, is_active, created_at, updated_at)
               VALUES (%s, %s, %s, %s, true, %s, %s)
               ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, email = EXCLUDED.email,
                   kind = EXCLUDED.kind, updated_at = EXCLUDED.updated_at""",
            [spec.id, spec.name, spec.email, spec.kind, now, now],
        )
        cursor.execute("DELETE FROM tenancy_manager_stores WHERE manager_id = %s", [spec.id])
        if spec.stores:
            cursor.execute(
                """INSERT INTO tenancy_manager_stores (manager_id, store_id, created_at, updated_at)
                   SELECT %s, store_id, %s, %s FROM retail.stores WHERE store_name = ANY(%s)""",
                [spec.id, now, now, list(spec.stores)],
            )
