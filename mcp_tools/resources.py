"""MCP resources: each retail table's documentation, and the caller's own stores.

Both depend on who asks (the documentation lists the caller's store names), so they
are read inside a tenant context of their own for the caller
(:func:`~mcp_tools.invocation.in_caller_context`, which also runs the read again on a
fresh connection if the connection is lost). FastMCP calls a synchronous resource
function on its event-loop thread, which under the endpoint's ``async_to_sync`` is
another thread with another connection. So each resource here is async and hops
back with asgiref's thread-sensitive ``sync_to_async``: over HTTP that runs on the
request thread, like a tool; over stdio, on the command's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial

from asgiref.sync import sync_to_async
from mcp_server import mcp_server

from mcp_tools.formatting import dumps
from mcp_tools.invocation import in_caller_context
from retail.errors import InternalFailure, ZavaError
from retail.services.analytics.scope import visible_stores
from retail.services.table_docs import TABLES, VALID_TABLE_NAMES, describe_tables

logger = logging.getLogger("zava.mcp")

SCHEMA_URI = "zava://schema/{table}"
MY_STORES_URI = "zava://stores/mine"


def tenant_resource(read: Callable[[], str]) -> Callable[[], Awaitable[str]]:
    """``read`` as an async resource function that runs in the caller's tenant context."""

    def guarded() -> str:
        try:
            return in_caller_context(read)
        except ZavaError:
            raise  # typed, client-safe messages (DatabaseDown: the endpoint answers 503)
        except Exception:
            logger.exception("resource read failed unexpectedly")
            raise InternalFailure(
                "The resource could not be read; the incident has been logged."
            ) from None

    async def hop() -> str:
        return await sync_to_async(guarded, thread_sensitive=True)()

    return hop


def my_stores() -> str:
    """The caller's stores as compact JSON, in the tools' ``{"c", "r", "n"}`` shape."""
    stores = visible_stores()
    rows = [[store.store_id, store.store_name, store.is_online] for store in stores]
    return dumps({"c": ["store_id", "store_name", "is_online"], "r": rows, "n": len(rows)})


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


register()
