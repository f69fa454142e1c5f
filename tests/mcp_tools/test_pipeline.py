"""One tool call's path through :mod:`mcp_tools.pipeline`: what it costs the database
(round trips, counted from libpq's trace) and what it records."""

from __future__ import annotations

from dataclasses import replace

from django.test import Client

from mcp_tools.answers import text_answer
from mcp_tools.registry import registry
from mcp_tools.sql_guard import check_query
from retail.errors import ErrorCode
from retail.models import AuditedRequest, Outcome
from retail.tenancy import tenant_cursor
from tests.conftest import backend_gone
from tests.round_trips import RoundTrips, counting_round_trips


def _post_call(token: str, name: str, arguments: dict) -> dict:
    """``tools/call`` in process, through the whole middleware stack; its result."""
    params = {"name": name, "arguments": arguments}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
    response = Client().post(
        "/mcp", body, content_type="application/json",
        headers={"Accept": "application/json", "Authorization": f"Bearer {token}",
                 "MCP-Protocol-Version": "2025-06-18"},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    return response.json()["result"]


def _call(token: str, sql: str) -> dict:
    """``execute_sales_query``, which must answer."""
    result = _post_call(token, "execute_sales_query", {"postgresql_query": sql})
    assert result["isError"] is False, result
    return result


def _counted(token: str, sql: str) -> RoundTrips:
    _call(token, sql)  # warm: the pool's connections, the guard's memo, the answer cache
    with counting_round_trips() as trips:
        _call(token, sql)
    return trips


# On the default connection: the token lookup with the rate-limit count (one
# statement), the audit row. On the tenant connection: BEGIN with the transaction's
# start (pid and time, which the identity proof signs; one simple-protocol query), the
# context's settings, the query, and the drift check pipelined with ROLLBACK (one sync:
# the check costs no round trip of its own).
def test_a_trivial_call_costs_seven_round_trips(database, token, settings):
    settings.ZAVA_CACHE_SECONDS = 0
    assert settings.ZAVA_RATE_LIMIT_PER_MINUTE > 0  # the count is on the path
    trips = _counted(token, "SELECT 1")
    assert trips.per_alias() == {"default": 2, "tenant": 4}, trips.messages()


# The query does not run; the cache's scope (the caller's stores and data version) is
# read in the tenant context instead, and the cache is read on the default connection.
def test_a_cached_call_costs_eight_round_trips(database, token, settings):
    settings.ZAVA_CACHE_SECONDS = 300
    trips = _counted(token, "SELECT 2 AS cached")
    assert trips.per_alias() == {"default": 3, "tenant": 4}, trips.messages()


def test_the_log_line_says_what_the_handler_told_the_pipeline(database, token, settings, caplog):
    """Rows, the guard's fingerprint and the cache hit travel in the answer, not beside it."""
    settings.ZAVA_CACHE_SECONDS = 300
    sql = "SELECT store_id FROM retail.orders GROUP BY 1 -- log line"
    with caplog.at_level("INFO", logger="zava.mcp"):
        _call(token, sql)
        _call(token, sql)
        _call(token, "SELECT now()")  # reads the clock: never cached
    calls = [r for r in caplog.records if r.getMessage().startswith("tool call ")]
    assert [(r.rows, r.cache_hit) for r in calls] == [(1, False), (1, True), (1, None)]
    assert calls[0].sql_fingerprint == calls[1].sql_fingerprint == check_query(sql).fingerprint


def test_a_call_whose_work_moves_the_identity_fails_closed_and_is_audited(
    database, token, monkeypatch, settings
):
    """Drift forced past the guard (the handler itself resets the role): the answer is
    dropped, the client gets a typed error, the audit row says so, and the next call
    runs on a fresh connection as the caller."""
    seen: list[tuple[int, str]] = []

    def drifting_probe():
        with tenant_cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute("SELECT pg_backend_pid(), current_user")
            seen.append(cursor.fetchone())
        return text_answer("read as the gateway role")

    def honest_probe():
        with tenant_cursor() as cursor:
            cursor.execute(
                "SELECT pg_backend_pid(), current_user, "
                "(SELECT array_agg(DISTINCT store_id) FROM retail.orders)"
            )
            *who, stores = cursor.fetchone()
            seen.append(tuple(who))
        return text_answer(f"stores {stores}")

    tools = registry().tools
    tool = "get_current_utc_date"
    monkeypatch.setitem(tools, tool, replace(tools[tool], handler=drifting_probe))
    refused = _post_call(token, tool, {})

    assert refused["isError"] is True
    text = refused["content"][0]["text"]
    assert "read as the gateway role" not in text and "could not be answered safely" in text
    row = AuditedRequest.objects.filter(tool=tool).latest("id")
    assert (row.outcome, row.error_code) == (Outcome.ERROR, ErrorCode.INTERNAL)

    monkeypatch.setitem(tools, tool, replace(tools[tool], handler=honest_probe))
    answered = _post_call(token, tool, {})
    assert answered["isError"] is False
    assert "stores [1]" in answered["content"][0]["text"]
    (drifted_pid, drifted_user), (fresh_pid, fresh_user) = seen
    assert drifted_user != fresh_user == settings.ZAVA_DB_ROLES["tenant"]
    assert backend_gone(drifted_pid)  # the drifted connection was closed, not pooled
    assert fresh_pid != drifted_pid
