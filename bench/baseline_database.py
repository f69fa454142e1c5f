"""The reference-shaped database the baseline server reads: our data, the reference's ways.

``ensure()`` builds ``zava_baseline`` on the same PostgreSQL server as ours, once: the
eight retail tables with the reference's columns, keys and indexes
(``shared/ZAVA_REFERENCE.md``), every row copied from our database, ``ANALYZE``d,
and row-level security as the reference has it: a policy per store-scoped table that
compares the store's ``rls_user_id`` with the session setting
``app.current_rls_user_id`` (head office's all-zero id sees every store). The server
reads it as ``zava_baseline``, a login role with SELECT only, so the policies apply.

It is rebuilt when our row counts differ from the copy's (a reseed, a bigger scale).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import quote

import psycopg
from psycopg import sql

DATABASE = "zava_baseline"
ROLE = "zava_baseline"

# Table -> (columns as the reference declares them, in our column order; its indexes).
TABLES: dict[str, tuple[str, list[str]]] = {
    "stores": (
        "store_id serial PRIMARY KEY, store_name text UNIQUE NOT NULL, rls_user_id uuid "
        "NOT NULL, is_online boolean NOT NULL DEFAULT false",
        [],
    ),
    "customers": (
        "customer_id serial PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, "
        "email text UNIQUE NOT NULL, phone text, primary_store_id integer REFERENCES "
        "retail.stores, created_at timestamp DEFAULT now()",
        ["primary_store_id"],
    ),
    "categories": ("category_id serial PRIMARY KEY, category_name text UNIQUE NOT NULL", []),
    "product_types": (
        "type_id serial PRIMARY KEY, category_id integer NOT NULL REFERENCES "
        "retail.categories, type_name text NOT NULL",
        ["category_id"],
    ),
    "products": (
        "product_id serial PRIMARY KEY, sku text UNIQUE NOT NULL, product_name text NOT NULL, "
        "category_id integer NOT NULL REFERENCES retail.categories, type_id integer NOT NULL "
        "REFERENCES retail.product_types, cost numeric(10,2) NOT NULL, base_price "
        "numeric(10,2) NOT NULL, gross_margin_percent numeric(5,2) DEFAULT 33.00, "
        "product_description text",
        ["category_id", "type_id", "base_price"],
    ),
    "inventory": (
        "store_id integer NOT NULL REFERENCES retail.stores, product_id integer NOT NULL "
        "REFERENCES retail.products, stock_level integer NOT NULL, "
        "PRIMARY KEY (store_id, product_id)",
        ["product_id"],
    ),
    "orders": (
        "order_id serial PRIMARY KEY, customer_id integer NOT NULL REFERENCES "
        "retail.customers, store_id integer NOT NULL REFERENCES retail.stores, "
        "order_date date NOT NULL",
        ["store_id, order_date", "customer_id, order_date", "order_date"],
    ),
    "order_items": (
        "order_item_id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES "
        "retail.orders, store_id integer NOT NULL REFERENCES retail.stores, product_id "
        "integer NOT NULL REFERENCES retail.products, quantity integer NOT NULL, unit_price "
        "numeric(10,2) NOT NULL, discount_percent integer DEFAULT 0, discount_amount "
        "numeric(10,2) DEFAULT 0, total_amount numeric(10,2) NOT NULL",
        ["order_id", "store_id", "product_id", "total_amount"],
    ),
}
# The store-scoped tables and the column that names the store.
SCOPED = {"customers": "primary_store_id", "orders": "store_id", "order_items": "store_id",
          "inventory": "store_id"}  # fmt: skip
POLICY = """
CREATE POLICY store_manager ON retail.{table} FOR SELECT USING (
    current_setting('app.current_rls_user_id', true) = '00000000-0000-0000-0000-000000000000'
    OR {column} IN (SELECT store_id FROM retail.stores
                    WHERE rls_user_id::text = current_setting('app.current_rls_user_id', true))
)
"""


def _counts(connection: psycopg.Connection) -> dict[str, int]:
    return {
        table: connection.execute(
            sql.SQL("SELECT count(*) FROM retail.{}").format(sql.Identifier(table))
        ).fetchone()[0]
        for table in TABLES
    }


def ensure(
    admin: Callable[[str], psycopg.Connection],
    source: Callable[[], psycopg.Connection],
    say: Callable[[str], None] = print,
) -> str:
    """Make sure ``zava_baseline`` holds a copy of our data; return the baseline role's DSN.

    ``admin(dbname)`` connects as a superuser (autocommit) to a database of the server;
    ``source()`` connects to ours as a role that reads every row (a superuser).
    """
    with source() as ours:
        wanted = _counts(ours)
        with admin("postgres") as server:
            exists = server.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
            ).fetchone()
            if exists:
                with admin(DATABASE) as copy:
                    try:
                        if _counts(copy) == wanted:
                            return _dsn(copy)
                    except psycopg.Error:
                        pass
                server.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(
                    sql.Identifier(DATABASE)))  # fmt: skip
            say(f"building the reference-shaped database {DATABASE} ({sum(wanted.values())} rows)")
            started = time.monotonic()
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
            if not server.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [ROLE]).fetchone():
                server.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(ROLE)))
        with admin(DATABASE) as copy:
            _build(copy, ours)
            say(f"  built in {time.monotonic() - started:.1f} s")
            return _dsn(copy)


def _build(copy: psycopg.Connection, ours: psycopg.Connection) -> None:
    copy.execute("CREATE SCHEMA retail")
    for table, (columns, indexes) in TABLES.items():
        name = sql.Identifier(table)
        copy.execute(sql.SQL("CREATE TABLE retail.{} ({})").format(name, sql.SQL(columns)))
        listed = sql.SQL(", ").join(map(sql.Identifier, _column_names(copy, table)))
        with (
            ours.cursor().copy(
                sql.SQL("COPY (SELECT {} FROM retail.{}) TO STDOUT").format(listed, name)
            ) as out,
            copy.cursor().copy(
                sql.SQL("COPY retail.{} ({}) FROM STDIN").format(name, listed)
            ) as into,
        ):
            for block in out:
                into.write(block)
        for index in indexes:
            copy.execute(sql.SQL("CREATE INDEX ON retail.{} ({})").format(name, sql.SQL(index)))
    for table, column in SCOPED.items():
        copy.execute(sql.SQL("ALTER TABLE retail.{} ENABLE ROW LEVEL SECURITY").format(
            sql.Identifier(table)))  # fmt: skip
        copy.execute(sql.SQL(POLICY.format(table=table, column=column)))
    role = sql.Identifier(ROLE)
    copy.execute(sql.SQL("GRANT USAGE ON SCHEMA retail TO {}").format(role))
    copy.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA retail TO {}").format(role))
    copy.execute("ANALYZE")


def _column_names(connection: psycopg.Connection, table: str) -> list[str]:
    rows = connection.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum",
        [f"retail.{table}"],
    ).fetchall()
    return [name for (name,) in rows]


def _dsn(connection: psycopg.Connection) -> str:
    """A URL asyncpg understands, Unix socket directories included."""
    info = connection.info
    where = f"host={quote(info.host)}&port={info.port}"
    return f"postgresql://{ROLE}@/{DATABASE}?{where}"
