"""The yardstick: a server shaped like the reference, which ``make bench`` runs beside ours.

The reference (``shared/ZAVA_REFERENCE.md``) is FastMCP + asyncpg + uvicorn in one
process. It cannot be fetched at run time, so this file does, per call, what it does:

* FastMCP's Streamable HTTP app with its defaults (sessions, answers as SSE), under
  uvicorn with FastMCP's default logging;
* the caller's identity from the ``x-rls-user-id`` header, unauthenticated;
* ``execute_sales_query``: a connection from an asyncpg pool,
  ``set_config('app.current_rls_user_id', <id>, false)`` on it, the query as sent,
  every row fetched, and compact JSON (``{"c": columns, "r": rows, "n": count}``);
* ``get_multiple_table_schemas``: Markdown from the catalogue and the valid values,
  computed once per table list and cached for the life of the process.

It is a measuring stick, not a product: it has every weakness the reference has
(no authentication, session-scoped identity on pooled connections, SQL run as sent),
so it listens on loopback only and reads the reference-shaped database that
``bench/baseline_database.py`` builds, as a role without any privilege but SELECT.

    .venv/bin/python bench/baseline_server.py --port 8765 --dsn postgresql://...
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import asyncpg
from mcp.server.fastmcp import Context, FastMCP

IDENTITY_HEADER = "x-rls-user-id"
HEAD_OFFICE = "00000000-0000-0000-0000-000000000000"  # the reference's default identity
TABLES = (
    "retail.customers", "retail.stores", "retail.categories", "retail.product_types",
    "retail.products", "retail.orders", "retail.order_items", "retail.inventory",
)  # fmt: skip

COLUMNS_SQL = """
SELECT string_agg(attname || ':' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped
"""
FOREIGN_KEYS_SQL = """
SELECT a.attname, c.confrelid::regclass::text, fa.attname
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
WHERE c.conrelid = $1::regclass AND c.contype = 'f' ORDER BY a.attnum
"""
VALID_VALUES_SQL = """
SELECT (SELECT string_agg(store_name, ', ' ORDER BY store_name) FROM retail.stores),
       (SELECT string_agg(category_name, ', ' ORDER BY category_name) FROM retail.categories),
       (SELECT string_agg(DISTINCT type_name, ', ') FROM retail.product_types),
       (SELECT string_agg(DISTINCT extract(year FROM order_date)::text, ', ')
          FROM retail.orders)
"""


def build(dsn: str, host: str, port: int) -> FastMCP:
    """The server: two tools over one asyncpg pool, opened on the first call."""
    server = FastMCP("Zava Retail baseline", host=host, port=port)
    pools: list[asyncpg.Pool] = []
    schemas: dict[tuple[str, ...], str] = {}

    async def pool() -> asyncpg.Pool:
        if not pools:
            pools.append(await asyncpg.create_pool(dsn, min_size=1, max_size=10))
        return pools[0]

    def identity(ctx: Context) -> str:
        request = ctx.request_context.request
        headers = getattr(request, "headers", {}) or {}
        return headers.get(IDENTITY_HEADER) or HEAD_OFFICE

    @server.tool()
    async def execute_sales_query(postgresql_query: str, ctx: Context) -> str:
        """Run a PostgreSQL query against the retail tables, as the caller."""
        try:
            async with (await pool()).acquire() as connection:
                await connection.execute(
                    "SELECT set_config('app.current_rls_user_id', $1, false)", identity(ctx)
                )
                records = await connection.fetch(postgresql_query)
        except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            return _compact({"err": str(exc), "q": postgresql_query, "c": [], "r": [], "n": 0})
        if not records:
            return _compact({"c": [], "r": [], "n": 0, "msg": "No rows"})
        columns = list(records[0].keys())
        return _compact({"c": columns, "r": [list(r.values()) for r in records], "n": len(records)})

    @server.tool()
    async def get_multiple_table_schemas(table_names: list[str], ctx: Context) -> str:
        """The schema of each named table, as Markdown (cached for the server's life)."""
        key = tuple(table_names)
        if key not in schemas:
            unknown = [name for name in table_names if name not in TABLES]
            if unknown:
                return f"Unknown table(s): {', '.join(unknown)}. Valid: {', '.join(TABLES)}"
            async with (await pool()).acquire() as connection:
                schemas[key] = await _describe(connection, table_names)
        return schemas[key]

    return server


async def _describe(connection: asyncpg.Connection, names: list[str]) -> str:
    stores, categories, types, years = await connection.fetchrow(VALID_VALUES_SQL)
    blocks = []
    for name in names:
        columns = await connection.fetchval(COLUMNS_SQL, name)
        keys = await connection.fetch(FOREIGN_KEYS_SQL, name)
        relationships = [f"- {column} → {table}({ref})" for column, table, ref in keys]
        blocks.append(
            "\n".join(
                [
                    f"# Table: {name}",
                    "## Schema",
                    columns,
                    "## Relationships",
                    *(relationships or ["- none"]),
                    "## Valid Values",
                    f"- Stores: {stores}",
                    f"- Categories: {categories}",
                    f"- Product types: {types}",
                    f"- Order years: {years}",
                ]
            )
        )
    return "\n\n".join(blocks)


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True, help="the reference-shaped database, as its role")
    parser.add_argument("--host", default="127.0.0.1", help="loopback only (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    build(args.dsn, args.host, args.port).run(transport="streamable-http")


if __name__ == "__main__":
    main()
