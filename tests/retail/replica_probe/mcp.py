"""Test only: ``database_server``, which reports from inside the caller's tenant context
whether it runs on a hot standby, as which role, and which stores it may see.

The SQL guard rightly refuses ``pg_is_in_recovery()`` in model-written SQL, so the
replica tests register this tool in their own server only (replica_settings.py).
"""

from __future__ import annotations

import json

from mcp_server import MCPToolset

from mcp_tools.answers import ToolAnswer, text_answer
from mcp_tools.server import tool
from retail.tenancy import tenant_cursor


class ReplicaProbeTools(MCPToolset):
    """Which server a tenant read runs on."""

    @tool(
        "Test only: the tenant context's server (hot standby or not), role and stores.",
        fenced=True,  # database values, as tools fence them
    )
    def database_server(self) -> ToolAnswer:
        with tenant_cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), current_user, retail.visible_store_ids(),"
                " retail.data_version()"
            )
            in_recovery, role, stores, version = cursor.fetchone()
        answer = {"in_recovery": in_recovery, "role": role, "stores": stores, "version": version}
        return text_answer(json.dumps(answer))
