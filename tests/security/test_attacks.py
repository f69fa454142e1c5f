"""An attacker with a valid store-manager token and an LLM that writes any SQL.

Each attack goes through ``execute_sales_query`` over real HTTP. It must fail with a
typed error (or, where the SQL is legal, show nothing beyond the caller's store),
and the server must answer the next call normally.
"""

from __future__ import annotations

import pytest

from retail.models import AuditedRequest
from tests.conftest import LIVE_MAX_RESULT_BYTES, LIVE_MAX_ROWS
from tests.identities import HEAD_OFFICE, SEATTLE
from tests.mcp_client import SharedSession, tool_json

HEAD_OFFICE_ID = HEAD_OFFICE.id

GUARD_REFUSALS = {
    # stacked statements, also hidden behind comments and odd quoting
    "stacked": ("SELECT 1; DELETE FROM retail.orders", "multiple_statements"),
    "stacked after comment": ("SELECT 1; -- harmless\nDROP TABLE retail.orders", "multiple_statements"),
    "stacked in block comment": ("SELECT 1 /* ; */ ; UPDATE retail.orders SET store_id = 1",
                                 "multiple_statements"),
    "stacked after dollar quote": ("SELECT $$;$$; DELETE FROM retail.orders", "multiple_statements"),
    "stacked after escaped quote": ("SELECT E'\\';'; DELETE FROM retail.orders", "multiple_statements"),
    # writes and DDL
    "insert": ("INSERT INTO retail.stores (store_name, rls_user_id) VALUES ('x', gen_random_uuid())",
               "not_select"),
    "update": ("UPDATE retail.orders SET store_id = 1", "not_select"),
    "delete": ("DELETE FROM retail.order_items", "not_select"),
    "drop": ("DROP TABLE retail.orders", "not_select"),
    "create": ("CREATE TABLE retail.x AS SELECT * FROM retail.orders", "not_select"),
    "truncate": ("TRUNCATE retail.orders", "not_select"),
    "copy": ("COPY retail.orders TO STDOUT", "not_select"),
    "do block": ("DO $$ BEGIN PERFORM 1; END $$", "not_select"),
    "data-modifying cte": ("WITH gone AS (DELETE FROM retail.orders RETURNING *) SELECT count(*) FROM gone",
                           "data_modifying_cte"),
    "select into": ("SELECT * INTO stolen FROM retail.orders", "select_into"),
    "locking": ("SELECT * FROM retail.orders FOR UPDATE", "locking_clause"),
    # identity switching
    "set_config": (f"SELECT set_config('app.current_rls_user_id', '{HEAD_OFFICE_ID}', true)",
                   "disallowed_function"),
    "set_config in from": (f"SELECT * FROM set_config('app.current_rls_user_id', '{HEAD_OFFICE_ID}', false)",
                           "disallowed_function"),
    "set role": ("SET ROLE zava_owner", "not_select"),
    "reset role": ("RESET ROLE", "not_select"),
    "set local": ("SET LOCAL app.current_rls_user_id = 'x'", "not_select"),
    "set session authorization": ("SET SESSION AUTHORIZATION postgres", "not_select"),
    "transaction control": ("COMMIT", "not_select"),
    # files, the system and the network
    "read file": ("SELECT pg_read_file('/etc/passwd')", "disallowed_function"),
    "read file in from": ("SELECT * FROM pg_read_file('/etc/passwd')", "disallowed_function"),
    "list directory": ("SELECT * FROM pg_ls_dir('.')", "disallowed_function"),
    "large object import": ("SELECT lo_import('/etc/passwd')", "disallowed_function"),
    "dblink": ("SELECT * FROM dblink('host=example.com', 'SELECT 1') AS t(x int)",
               "disallowed_function"),
    "copy to program": ("COPY (SELECT 1) TO PROGRAM 'id'", "not_select"),
    "terminate backend": ("SELECT pg_terminate_backend(1)", "disallowed_function"),
    "sleep": ("SELECT pg_sleep(30)", "disallowed_function"),
    "sleep in where": ("SELECT 1 FROM retail.stores WHERE pg_sleep(30) IS NULL", "disallowed_function"),
    "advisory lock": ("SELECT pg_advisory_lock(1)", "disallowed_function"),
    # other tables and catalogs
    "django users": ("SELECT * FROM auth_user", "disallowed_relation"),
    "sessions": ("SELECT * FROM public.django_session", "disallowed_relation"),
    "tokens": ("SELECT digest FROM tenancy_access_tokens", "disallowed_relation"),
    "mappings": ("SELECT * FROM tenancy_manager_stores", "disallowed_relation"),
    "managers": ("SELECT * FROM tenancy_managers", "disallowed_relation"),
    "signing key": ("SELECT * FROM zava_private.rls_signing_key", "disallowed_relation"),
    "cached answers": ("SELECT cache_key, value FROM zava_cache", "disallowed_relation"),
    "cached answers, qualified": ("SELECT value FROM public.zava_cache", "disallowed_relation"),
    "rate-limit counters": ("SELECT * FROM zava_request_counters", "disallowed_relation"),
    "audit": ("SELECT arguments FROM audit_requests", "disallowed_relation"),
    "audit partition": ("SELECT arguments FROM public.audit_requests_default", "disallowed_relation"),
    "other sessions": ("SELECT query FROM pg_stat_activity", "disallowed_relation"),
    "password hashes": ("SELECT * FROM pg_authid", "disallowed_relation"),
    "settings": ("SELECT * FROM pg_settings", "disallowed_relation"),
    "catalog in subquery": ("SELECT (SELECT count(*) FROM pg_class) FROM retail.stores",
                            "disallowed_relation"),
    "cte named like a catalog": ("WITH pg_authid AS (SELECT * FROM pg_authid) SELECT * FROM pg_authid",
                                 "disallowed_relation"),
    "regclass probe": ("SELECT 'pg_authid'::regclass", "disallowed_type"),
}  # fmt: skip


@pytest.fixture
def seattle(session_of) -> SharedSession:
    return session_of(SEATTLE)


def _query(session: SharedSession, sql: str):
    return session.call_tool("execute_sales_query", {"postgresql_query": sql})


def _still_healthy(session: SharedSession) -> None:
    assert session.rows("SELECT DISTINCT store_id FROM retail.orders") == [[1]]


@pytest.mark.parametrize("attack", GUARD_REFUSALS)
def test_attack_is_refused_with_its_reason_and_the_server_stays_healthy(seattle, attack):
    sql, reason = GUARD_REFUSALS[attack]
    result = _query(seattle, sql)
    assert result.isError
    payload = tool_json(result)
    assert payload["code"] == "validation_error"
    assert payload["reason"] == reason
    assert payload["q"] == sql  # the reference echoes the query back
    assert payload["n"] == 0
    _still_healthy(seattle)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT DISTINCT store_id FROM retail.orders",
        "SELECT DISTINCT store_id FROM retail.order_items WHERE store_id <> 1",
        "SELECT DISTINCT o.store_id FROM retail.orders o JOIN retail.stores s USING (store_id)",
        "SELECT DISTINCT primary_store_id FROM retail.customers",
        "SELECT DISTINCT store_id FROM orders",  # unqualified, via search_path
        "WITH RECURSIVE r AS (SELECT store_id FROM retail.inventory) SELECT DISTINCT store_id FROM r",
        "SELECT DISTINCT store_id FROM retail.orders UNION SELECT DISTINCT store_id FROM retail.inventory",
    ],
)  # fmt: skip
def test_legal_queries_never_reach_another_stores_rows(seattle, sql):
    assert {row[0] for row in seattle.rows(sql)} <= {1}


def test_a_cartesian_runaway_is_cancelled_by_the_timeout(database, seattle):
    sql = "SELECT count(*) FROM retail.order_items a, retail.order_items b, retail.order_items c"
    result = _query(seattle, sql)
    assert result.isError
    assert tool_json(result)["code"] == "timeout"
    assert AuditedRequest.objects.filter(tool="execute_sales_query").latest(
        "created_at"
    ).outcome == ("timeout")
    _still_healthy(seattle)


def test_a_huge_generated_result_is_capped(seattle):
    # In the select list the series streams, so the cap, not the timeout, must stop it
    # (in FROM, PostgreSQL first builds all five million rows, which a loaded machine
    # cannot do within the test server's 1.5 s statement timeout).
    payload = tool_json(_query(seattle, "SELECT generate_series(1, 5000000) AS g"))
    assert payload["truncated"] is True
    _still_healthy(seattle)


def test_a_wide_result_is_cut_at_the_byte_budget(seattle):
    sql = "SELECT product_description, product_description AS again FROM retail.products"
    result = _query(seattle, sql)
    payload = tool_json(result)
    assert payload["truncated"] is True
    assert 0 < payload["n"] < LIVE_MAX_ROWS  # the byte budget stopped it, not the row cap
    assert len(result.content[0].text.encode()) <= LIVE_MAX_RESULT_BYTES + 500
    _still_healthy(seattle)


def test_database_errors_are_typed_and_leak_no_internals(seattle):
    result = _query(seattle, "SELECT no_such_column FROM retail.orders")
    payload = tool_json(result)
    assert payload["code"] == "database_error"
    assert "no_such_column" in payload["err"]
    for secret in ("Traceback", "psycopg", "zava_gateway", "/work", "host=", "password"):
        assert secret not in payload["err"]
    _still_healthy(seattle)


def test_division_by_zero_inside_the_callers_data_is_a_clean_error(seattle):
    payload = tool_json(_query(seattle, "SELECT 1 / (count(*) - count(*)) FROM retail.orders"))
    assert payload["code"] == "database_error"
    _still_healthy(seattle)
