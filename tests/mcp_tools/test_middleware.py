"""The middleware authenticates, then the tool runs inside the caller's tenant context."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.test import Client

from mcp_tools.answers import text_answer
from mcp_tools.registry import registry
from retail.tenancy import active_context, tenant_cursor
from tests.identities import SEATTLE


def test_a_tool_running_in_the_request_sees_the_tenant_context(database, tokens, monkeypatch):
    seen = {}

    def probe():
        with tenant_cursor() as cursor:
            cursor.execute(
                "SELECT current_user, current_setting('app.current_rls_user_id'), "
                "current_setting('transaction_read_only'), "
                "(SELECT array_agg(DISTINCT store_id) FROM retail.orders)"
            )
            seen["user"], seen["identity"], seen["read_only"], seen["stores"] = cursor.fetchone()
        return text_answer("probed")

    # The probe runs in the tool's place, through the same pipeline.
    tools = registry().tools
    monkeypatch.setitem(
        tools, "get_current_utc_date", replace(tools["get_current_utc_date"], handler=probe)
    )
    response = Client().post(
        "/mcp",
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
         "params": {"name": "get_current_utc_date", "arguments": {}}},
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens[SEATTLE.email]}", "Accept": "application/json"},
    )  # fmt: skip

    assert response.status_code == 200, response.content
    assert response.json()["result"]["isError"] is False
    assert seen == {
        "user": settings.ZAVA_DB_ROLES["tenant"],
        "identity": str(SEATTLE.id),
        "read_only": "on",
        "stores": [1],
    }
    assert active_context() is None  # closed when the request ended
