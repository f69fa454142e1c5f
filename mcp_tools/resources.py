"""MCP resources: each retail table's documentation, the caller's own stores, and the
charts the caller drew (``zava://charts/<id>``, linked from chart answers).

All depend on who asks (the documentation lists the caller's store names), so they
are read inside a tenant context of their own for the caller
(:func:`~mcp_tools.invocation.in_caller_context`, which also runs the read again on a
fresh connection if the connection is lost). FastMCP calls a synchronous resource
function on its event-loop thread, which under the endpoint's ``async_to_sync`` is
another thread with another connection. So each resource here is async and hops
back with asgiref's thread-sensitive ``sync_to_async``: over HTTP that runs on the
request thread, like a tool; over stdio, on the command's thread. Rows are fenced
as untrusted data (:mod:`mcp_tools.untrusted`), as in tool answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from asgiref.sync import sync_to_async
from mcp import types
from mcp_server import mcp_server
from pydantic import AnyUrl

from mcp_tools.formatting import dumps
from mcp_tools.invocation import in_caller_context
from mcp_tools.untrusted import fence
from retail.errors import InternalFailure, ZavaError
from retail.services.analytics.scope import visible_stores
from retail.services.stored_charts import KeptChart, kept_chart
from retail.services.table_docs import TABLES, VALID_TABLE_NAMES, describe_tables

logger = logging.getLogger("zava.mcp")
T = TypeVar("T", str, bytes)

SCHEMA_URI = "zava://schema/{table}"
MY_STORES_URI = "zava://stores/mine"
CHART_URI = "zava://charts/{chart_id}"


def tenant_resource(read: Callable[[], T]) -> Callable[[], Awaitable[T]]:
    """``read`` as an async resource function that runs in the caller's tenant context."""

    def guarded() -> T:
        try:
            return in_caller_context(read)
        except ZavaError:
            raise  # typed, client-safe messages (DatabaseDown: the endpoint answers 503)
        except Exception:
            logger.exception("resource read failed unexpectedly")
            raise InternalFailure(
                "The resource could not be read; the incident has been logged."
            ) from None

    async def hop() -> T:
        return await sync_to_async(guarded, thread_sensitive=True)()

    return hop


def my_stores() -> str:
    """The caller's stores as compact JSON, in the tools' ``{"c", "r", "n"}`` shape."""
    stores = visible_stores()
    rows = [[store.store_id, store.store_name, store.is_online] for store in stores]
    return fence(dumps({"c": ["store_id", "store_name", "is_online"], "r": rows, "n": len(rows)}))


async def chart(chart_id: str) -> bytes:
    """A chart this caller drew, while it is kept (:mod:`retail.services.stored_charts`)."""
    return await tenant_resource(partial(kept_chart, chart_id))()


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
