"""The Zava tools, registered with django-mcp-server (which autodiscovers ``mcp.py``).

Names, parameters and defaults are the reference's, a compatibility contract. Each
tool is a few lines: validate, call the service or data layer, format; the pipeline
(:mod:`mcp_tools.pipeline`) runs it for the caller (tenant context, typed errors,
fencing of answers marked ``fenced``, audit). Access rules
live in PostgreSQL (row-level security); the tools add none of their own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from mcp_server import MCPToolset
from pydantic import Field

from mcp_tools.answers import ToolAnswer, compact_result, text_answer
from mcp_tools.server import tool
from mcp_tools.sql_guard import check_query
from mcp_tools.untrusted import UNTRUSTED_RESULTS
from retail.services.product_search import search_products
from retail.services.sales_queries import run_sales_query
from retail.services.table_docs import VALID_TABLE_NAMES, describe_tables

SCHEMAS_DESCRIPTION = f"""Get the schema of one or more tables of Zava's retail database.

Call this FIRST, before writing any query, for every table you plan to use. For each
table it returns the columns with their types, relationships (foreign keys), valid
values (the store names you may see, category and product type names, years with
orders) and query hints.

Valid table names: {", ".join(VALID_TABLE_NAMES)}."""

QUERY_DESCRIPTION = f"""Run one read-only PostgreSQL SELECT against Zava's retail database and
return the rows as compact JSON: {{"c": [columns], "r": [[row], ...], "n": row_count}}.

How to use it well:
- Fetch the schemas first (get_multiple_table_schemas) and use the exact table and
  column names, always schema-qualified: retail.orders, retail.order_items, ...
- Revenue is SUM(retail.order_items.total_amount); orders carry no totals.
- Aggregate and join in SQL rather than fetching raw rows; return at most 20 rows
  (ORDER BY ... LIMIT 20) unless the user asks for more.
- Use retail.stores.is_online to tell the online store from physical stores.
- Never invent data: answer only from what the query returns.
- Do not show internal IDs or UUIDs to the user; use names.
You only see the stores you manage; the database enforces this. Only a single SELECT
(or WITH ... SELECT) is accepted: no writes, no settings, no system catalogs. Long
results are cut and flagged with "truncated": true. Errors come back as {{"err": ...}}
with a code; fix the query and try again. {UNTRUSTED_RESULTS}"""

DATE_DESCRIPTION = """Get the current date and time in UTC (ISO 8601).

Use it to turn relative periods ("last quarter", "this year", "past 30 days") into
exact dates before writing a query."""

SEARCH_DESCRIPTION = f"""Find products whose descriptions are similar in meaning to a text, using
vector embeddings (semantic search), e.g. "containers for paint", "waterproof
electrical box for outdoor use", "15 amp circuit breaker".

Returns compact JSON of matching products with their similarity in percent ("sp"),
best first. Use it whenever the user describes a product in their own words rather
than naming it exactly; then use execute_sales_query with the returned product_id
values for sales figures. similarity_threshold is a percentage (meaningful range
20-80; default 30); raise it for fewer, closer matches. {UNTRUSTED_RESULTS}"""


class ZavaTools(MCPToolset):
    """Retail analytics for one manager's stores."""

    @tool(SCHEMAS_DESCRIPTION)
    def get_multiple_table_schemas(
        self,
        table_names: Annotated[
            list[str],
            Field(
                description=(
                    "Fully qualified table names, e.g. ['retail.orders', 'retail.order_items']."
                ),
                min_length=1,
                max_length=len(VALID_TABLE_NAMES),
            ),
        ],
    ) -> ToolAnswer:
        return text_answer(describe_tables(table_names))

    @tool(QUERY_DESCRIPTION, echo="postgresql_query", fenced=True)
    def execute_sales_query(
        self,
        postgresql_query: Annotated[
            str, Field(description="A well-formed PostgreSQL query.", max_length=20_000)
        ],
    ) -> ToolAnswer:
        checked = check_query(postgresql_query)  # a refusal carries its own fingerprint
        result = run_sales_query(checked.sql, reads_clock=checked.reads_clock)
        return text_answer(
            compact_result(result),
            rows=len(result.rows),
            fingerprint=checked.fingerprint,
            cache_hit=None if checked.reads_clock else result.from_cache,
        )

    @tool(DATE_DESCRIPTION)
    def get_current_utc_date(self) -> ToolAnswer:
        return text_answer(f"Current UTC Date/Time: {datetime.now(UTC).isoformat()}")

    @tool(SEARCH_DESCRIPTION, fenced=True)
    def semantic_search_products(
        self,
        query_description: Annotated[
            str,
            Field(
                description="What the product is or does, in plain words.",
                min_length=1,
                max_length=1_000,
            ),
        ],
        max_rows: Annotated[
            int, Field(description="Most products to return (capped at 100).", ge=1)
        ] = 20,
        similarity_threshold: Annotated[
            float,
            Field(description="Minimum similarity in percent, 0-100.", ge=0, le=100),
        ] = 30.0,
    ) -> ToolAnswer:
        result = search_products(
            query=query_description,
            max_rows=max_rows,
            similarity_threshold=similarity_threshold,
        )
        empty = f"No products >= {similarity_threshold:.1f}%"
        return text_answer(compact_result(result, empty_message=empty), rows=len(result.rows))


# Further toolsets, resources and prompts register on import; django-mcp-server only
# autodiscovers this module.
from mcp_tools import analytics_tools, prompts, resources  # noqa: E402, F401
