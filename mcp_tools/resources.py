"""MCP resources: each retail table's documentation, the caller's own stores, the
products of one catalogue category and type (a resource template), and the charts the
caller drew (``zava://charts/<id>``, linked from chart answers).

All depend on who asks (the documentation lists the caller's store names), so
:func:`mcp_tools.pipeline.read_resource` reads them inside a tenant context of their
own for the caller. They are registered with FastMCP's decorator, from which the
registry takes them; the functions here are plain reads. Rows are fenced as
untrusted data (:mod:`mcp_tools.untrusted`), as in tool answers.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import unquote

from mcp import types
from mcp_server import mcp_server
from pydantic import AnyUrl

from mcp_tools.answers import compact_result, dumps
from mcp_tools.untrusted import fence
from retail.services.analytics.scope import visible_stores
from retail.services.catalogue import products_of_type
from retail.services.stored_charts import KeptChart, kept_chart
from retail.services.table_docs import TABLES, VALID_TABLE_NAMES, describe_tables

SCHEMA_URI = "zava://schema/{table}"
MY_STORES_URI = "zava://stores/mine"
CATALOGUE_URI = "zava://catalogue/{category}/{product_type}"
CHART_URI = "zava://charts/{chart_id}"


def my_stores() -> str:
    """The caller's stores as compact JSON, in the tools' ``{"c", "r", "n"}`` shape."""
    stores = visible_stores()
    rows = [[store.store_id, store.store_name, store.is_online] for store in stores]
    return fence(dumps({"c": ["store_id", "store_name", "is_online"], "r": rows, "n": len(rows)}))


def catalogue_products(category: str, product_type: str) -> str:
    """One type's products as compact JSON; the names arrive percent-encoded in the URI."""
    return fence(compact_result(products_of_type(unquote(category), unquote(product_type))))


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
        )(partial(describe_tables, [table]))
    mcp_server.resource(
        MY_STORES_URI,
        name="my-stores",
        title="My stores",
        description="The stores you manage (and so the only stores whose data you see).",
        mime_type="application/json",
    )(my_stores)
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
    )(catalogue_products)
    mcp_server.resource(
        CHART_URI,
        name="chart",
        title="Chart",
        description=(
            "A chart you drew with plot_sales_trend or chart=true, readable by you only "
            "for a while after (the link's description says until when)."
        ),
        mime_type="image/png",
    )(kept_chart)


register()
