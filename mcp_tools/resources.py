"""MCP resources: each retail table's documentation, the caller's own stores, the
products of one catalogue category and type (a resource template), and the charts the
caller drew (``zava://charts/<id>``, linked from chart answers).

All depend on who asks (the documentation lists the caller's store names), so they
are read inside a tenant context of their own for the caller
(:func:`~mcp_tools.invocation.in_caller_context_from_sdk`, which also runs the read
again on a fresh connection if the connection is lost, on the request thread). Rows
are fenced as untrusted data (:mod:`mcp_tools.untrusted`), as in tool answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar
from urllib.parse import unquote

from mcp import types
from mcp_server import mcp_server
from pydantic import AnyUrl

from mcp_tools.formatting import compact_result, dumps
from mcp_tools.invocation import in_caller_context_from_sdk
from mcp_tools.untrusted import fence
from retail.services.analytics.scope import visible_stores
from retail.services.catalogue import products_of_type
from retail.services.stored_charts import KeptChart, kept_chart
from retail.services.table_docs import TABLES, VALID_TABLE_NAMES, describe_tables

T = TypeVar("T", str, bytes)

SCHEMA_URI = "zava://schema/{table}"
MY_STORES_URI = "zava://stores/mine"
CATALOGUE_URI = "zava://catalogue/{category}/{product_type}"
CHART_URI = "zava://charts/{chart_id}"
READ_FAILED = "The resource could not be read; the incident has been logged."


def tenant_resource(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """``read`` as an async resource function that runs in the caller's tenant context."""

    async def hop() -> T:
        return await in_caller_context_from_sdk(read, failure=READ_FAILED)

    return hop


def my_stores() -> str:
    """The caller's stores as compact JSON, in the tools' ``{"c", "r", "n"}`` shape."""
    stores = visible_stores()
    rows = [[store.store_id, store.store_name, store.is_online] for store in stores]
    return fence(dumps({"c": ["store_id", "store_name", "is_online"], "r": rows, "n": len(rows)}))


def catalogue_products(category: str, product_type: str) -> str:
    """One type's products as compact JSON; the names arrive percent-encoded in the URI."""
    return fence(compact_result(products_of_type(unquote(category), unquote(product_type))))


async def read_catalogue(category: str, product_type: str) -> str:
    read = partial(catalogue_products, category, product_type)
    return await in_caller_context_from_sdk(read, failure=READ_FAILED)


async def chart(chart_id: str) -> bytes:
    """A chart this caller drew, while it is kept (:mod:`retail.services.stored_charts`)."""
    return await in_caller_context_from_sdk(partial(kept_chart, chart_id), failure=READ_FAILED)


def chart_link(kept: KeptChart, *, size: int) -> types.ResourceLink:
    """The ``resource_link`` content item of a chart that was just kept for the caller."""
    until = kept.expires.isoformat(timespec="seconds")
    return types.ResourceLink(
        type="resource_link",
        uri=AnyUrl(CHART_URI.format(chart_id=kept.chart_id)),
        name=f"chart-{kept.chart_id}",
        title="Chart",
        description=f"The chart above; only you can read it again, until {until}.",
        mimeType="image/png",
        size=size,
        _meta={"zava/expires": until},
    )


def register() -> None:
    for table in VALID_TABLE_NAMES:
        mcp_server.resource(
            SCHEMA_URI.format(table=table),
            name=f"schema-{table}",
            title=f"Schema of {table}",
            description=(
                f"{TABLES[table].purpose} Columns, relationships, the values you may see "
                "and query hints, as get_multiple_table_schemas returns them."
            ),
            mime_type="text/markdown",
        )(tenant_resource(partial(describe_tables, [table])))
    mcp_server.resource(
        MY_STORES_URI,
        name="my-stores",
        title="My stores",
        description="The stores you manage (and so the only stores whose data you see).",
        mime_type="application/json",
    )(tenant_resource(my_stores))
    mcp_server.resource(
        CATALOGUE_URI,
        name="catalogue-products",
        title="Products of a category and type",
        description=(
            "The products of one product type in one category (names percent-encoded, "
            "e.g. zava://catalogue/Hand%20Tools/Hand%20Saws): id, SKU, name, base price. "
            "Both arguments complete (completion/complete)."
        ),
        mime_type="application/json",
    )(read_catalogue)
    mcp_server.resource(
        CHART_URI,
        name="chart",
        title="Chart",
        description=(
            "A chart you drew with plot_sales_trend or chart=true, readable by you only "
            "for a while after (the link's description says until when)."
        ),
        mime_type="image/png",
    )(chart)


register()
