"""What the server keeps of a tool call: metrics and log fields with SQL only as a
fingerprint (or hash) plus its start, and a warning for a slow call."""

from __future__ import annotations

import logging
from uuid import uuid4

from django.test import Client, override_settings
from pglast.parser import fingerprint

from mcp_tools import outcomes
from mcp_tools.caller import Caller
from mcp_tools.outcomes import CallOutcome
from mcp_tools.sql_guard import UNPARSED, QueryRejected, RejectionReason, check_query
from retail.errors import InvalidInput
from tests.identities import SEATTLE

SQL = "SELECT store_id FROM retail.orders WHERE order_date > '2025-01-01'"


def _refusal(sql: str) -> QueryRejected:
    try:
        check_query(sql)
    except QueryRejected as exc:
        return exc
    raise AssertionError(f"accepted: {sql!r}")


CALLER = Caller(manager_id=uuid4(), token_id=None, request_id="test")


def _sql_fields(sql: str, error: QueryRejected | None = None) -> dict:
    """The SQL fields of an execute_sales_query call's log line, as the pipeline gets them."""
    fingerprint = error.fingerprint if error else check_query(sql).fingerprint
    call = CallOutcome(
        method="tools/call", name="execute_sales_query", registered=True,
        arguments={"postgresql_query": sql}, duration_ms=1.0, error=error, rows=1,
        fingerprint=fingerprint, sql_argument="postgresql_query",
    )  # fmt: skip
    return outcomes.observe_tool_call(CALLER, call)


def test_parsed_sql_is_logged_by_the_guards_fingerprint_and_its_start():
    fields = _sql_fields(f"  {SQL}  ")
    assert fields == {"sql_fingerprint": fingerprint(SQL), "sql": SQL}
    # Constants do not change the fingerprint: one query shape, one group.
    other = _sql_fields(SQL.replace("2025", "2019"))
    assert other["sql_fingerprint"] == fields["sql_fingerprint"]


def test_sql_the_parser_refused_is_logged_by_a_hash():
    for sql in ("SELECT 1 FROM", "SELECT 1\x00", "   "):
        error = _refusal(sql)
        assert error.reason in UNPARSED
        assert error.fingerprint == ""  # the guard saw it: nothing parses it again
        fields = _sql_fields(sql, error)
        assert "sql_fingerprint" not in fields
        assert len(fields["sql_hash"]) == 16
    too_long = "SELECT 1" + " " * 30_000 + "-- end"
    fields = _sql_fields(too_long, _refusal(too_long))
    assert "sql_hash" in fields


def test_refused_but_parsed_sql_keeps_its_fingerprint():
    error = _refusal("DELETE FROM retail.orders")
    assert error.reason == RejectionReason.NOT_SELECT
    assert error.fingerprint == fingerprint("DELETE FROM retail.orders")
    fields = _sql_fields("DELETE FROM retail.orders", error)
    assert fields["sql_fingerprint"] == fingerprint("DELETE FROM retail.orders")


def test_telemetry_does_not_parse_sql_again():
    """The fingerprint comes from the guard; telemetry has no parser to call."""
    checked = check_query(SQL)
    assert not hasattr(outcomes, "fingerprint")
    fields = outcomes.sql_log_fields(SQL, checked.fingerprint)
    assert fields["sql_fingerprint"] == checked.fingerprint == fingerprint(SQL)


def test_the_logged_text_is_cut_and_can_be_turned_off():
    long_sql = "SELECT " + ", ".join(f"col_{i}" for i in range(200)) + " FROM retail.orders"
    with override_settings(ZAVA_LOG_SQL_CHARS=40):
        fields = _sql_fields(long_sql)
    assert fields["sql"] == long_sql[:40] + "…"
    with override_settings(ZAVA_LOG_SQL_CHARS=0):
        fields = _sql_fields(long_sql)
    assert "sql" not in fields
    assert "sql_fingerprint" in fields


def test_non_text_arguments_log_nothing():
    assert outcomes.sql_log_fields(None) == {}
    assert outcomes.sql_log_fields(["SELECT 1"]) == {}


def test_telemetry_failures_never_fail_the_call(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("metrics backend broke")

    monkeypatch.setattr(outcomes, "_observe", broken)
    call = CallOutcome(
        method="tools/call", name="get_current_utc_date", registered=True, arguments={},
        duration_ms=1.0, error=InvalidInput("x"),
    )  # fmt: skip
    assert outcomes.observe_tool_call(CALLER, call) == {}
    assert "could not record metrics" in caplog.text


def _call_in_process(token: str, name: str, arguments: dict):
    """One tools/call through Django's whole middleware stack, no server."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}  # fmt: skip
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return Client().post("/mcp", body, content_type="application/json", headers=headers)


@override_settings(ZAVA_SLOW_QUERY_MS=0)
def test_slow_calls_are_logged_at_warning_with_their_fingerprint(database, tokens, caplog):
    sql = "SELECT count(*) FROM retail.orders WHERE store_id = 1"
    with caplog.at_level(logging.INFO):
        response = _call_in_process(
            tokens[SEATTLE.email], "execute_sales_query", {"postgresql_query": sql}
        )
    assert response.status_code == 200
    slow = [r for r in caplog.records if r.name == "zava.mcp.slow"]
    assert len(slow) == 1
    assert slow[0].levelno == logging.WARNING
    assert slow[0].sql_fingerprint == fingerprint(sql)
    assert slow[0].tool == "execute_sales_query"
    assert slow[0].duration_ms >= 0
    assert slow[0].manager_id == str(SEATTLE.id)
    assert slow[0].request_id == response["X-Request-ID"]


def test_fast_calls_log_no_warning(database, tokens, caplog):
    with caplog.at_level(logging.INFO):
        _call_in_process(tokens[SEATTLE.email], "get_current_utc_date", {})
    assert not [r for r in caplog.records if r.name == "zava.mcp.slow"]
