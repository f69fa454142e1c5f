"""Nothing escapes the audit (issue 17): each reproduction, over HTTP against gunicorn.

Every request sends its own X-Request-ID, which the audit keeps as the client's id;
the row (exactly one) is found by it. Bodies are raw JSON so that lone surrogates
travel as JSON escapes (``\\ud800``), as an attacker would send them.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from django.db import connections
from pglast.parser import fingerprint

from retail.models import AuditedRequest
from tests.identities import SEATTLE
from tests.mcp_client import JSON_HEADERS, call_tool, text_json

BAD_TOKEN = "zava_" + "x" * 43
SURROGATE = "\ud800"


def send(url: str, method: str, params: dict, *, token: str | None) -> tuple[httpx.Response, str]:
    """A JSON-RPC request with a fresh client request id; JSON escapes keep surrogates."""
    client_id = f"audit17-{uuid.uuid4().hex}"
    headers = {**JSON_HEADERS, "X-Request-ID": client_id}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    response = httpx.post(url, content=body, headers=headers, timeout=30)
    return response, client_id


def the_row(client_id: str) -> AuditedRequest:
    """The one audit row of a request: exactly one, or the test fails."""
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    return row


def tool_error(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["isError"] is True
    return text_json(result["content"][0]["text"], is_error=True)


# --- 1. Lone surrogates ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("execute_sales_query", {"postgresql_query": f"SELECT 1 /* {SURROGATE} */"}),
        ("semantic_search_products", {"query_description": f"paint {SURROGATE}"}),
        ("get_store_performance", {"store": SURROGATE}),
        ("get_multiple_table_schemas", {"table_names": ["retail.orders", f"x{SURROGATE}"]}),
    ],
)
def test_a_lone_surrogate_is_refused_cleanly_and_audited(database, url, token, tool, arguments):
    response, client_id = send(
        url, "tools/call", {"name": tool, "arguments": arguments}, token=token
    )
    payload = tool_error(response)
    assert payload["code"] in {"validation_error", "database_error"}
    assert "\ud800" not in response.content.decode()  # valid UTF-8, nothing invalid echoed
    row = the_row(client_id)
    assert (row.tool, row.outcome) == (tool, "refused" if payload["code"] == "validation_error"
                                       else "error")  # fmt: skip
    assert row.sanitised
    assert "\\ud800" in json.dumps(row.arguments)


def test_a_bad_token_with_a_surrogate_tool_name_is_401_and_audited_as_unknown(database, url):
    response, client_id = send(
        url, "tools/call", {"name": SURROGATE, "arguments": {}}, token=BAD_TOKEN
    )
    assert response.status_code == 401
    row = the_row(client_id)
    assert (row.outcome, row.tool, row.unverified_name) == ("unauthorized", "(unknown)", "\\ud800")
    assert row.sanitised


# --- 2. Padding ------------------------------------------------------------------------

PADDED = [
    "/*" + "x" * 4_100 + "*/ SELECT first_name, last_name FROM retail.customers LIMIT 3",
    " " * 4_100 + "SELECT first_name, last_name FROM retail.customers LIMIT 3",
]


@pytest.mark.parametrize("sql", PADDED, ids=["comment", "whitespace"])
def test_padding_hides_nothing_the_whole_query_its_hash_and_fingerprint_are_kept(
    database, url, token, sql
):
    params = {"name": "execute_sales_query", "arguments": {"postgresql_query": sql}}
    response, client_id = send(url, "tools/call", params, token=token)
    assert response.json()["result"]["isError"] is False
    row = the_row(client_id)
    assert row.outcome == "ok" and row.rows == 3
    assert row.arguments["postgresql_query"] == sql
    assert row.query_sha256 == hashlib.sha256(sql.encode()).hexdigest()
    assert row.query_fingerprint == fingerprint(
        "SELECT first_name, last_name FROM retail.customers LIMIT 3"
    )


# --- 3. What clients write -------------------------------------------------------------


def test_an_unregistered_tool_name_is_stored_as_unknown_with_the_raw_text_apart(database, url):
    name = "<script>alert(1)</script>" * 20
    response, client_id = send(url, "tools/call", {"name": name, "arguments": {}}, token=BAD_TOKEN)
    assert response.status_code == 401
    row = the_row(client_id)
    assert row.tool == "(unknown)"
    assert row.unverified_name.startswith("<script>") and len(row.unverified_name) == 200
    assert not AuditedRequest.objects.filter(tool__contains="<script>").exists()


def test_an_unknown_tool_with_a_valid_token_is_stored_as_unknown(database, url, token):
    response, client_id = send(url, "tools/call", {"name": "drop_everything"}, token=token)
    assert tool_error(response)["code"] == "validation_error"
    row = the_row(client_id)
    assert (row.tool, row.unverified_name, row.outcome) == (
        "(unknown)",
        "drop_everything",
        "refused",
    )


def test_the_request_id_is_the_servers_and_the_clients_is_kept_apart(database, url, token):
    params = {"name": "get_current_utc_date", "arguments": {}}
    first, client_id = send(url, "tools/call", params, token=token)
    row = the_row(client_id)
    assert re.fullmatch(r"[0-9a-f]{32}", row.request_id)
    assert row.request_id == first.headers["X-Request-ID"] != client_id
    # The same client id twice: two rows, two server ids.
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}", "X-Request-ID": client_id}
    body = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": params}
    httpx.post(url, json=body, headers=headers, timeout=30)
    rows = AuditedRequest.objects.filter(client_request_id=client_id)
    assert len({r.request_id for r in rows}) == 2


# --- 4. Resources and prompts ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "params", "tool", "outcome"),
    [
        ("resources/read", {"uri": "zava://stores/mine"}, "zava://stores/mine", "ok"),
        ("resources/read", {"uri": "zava://nothing/here"}, "(unknown)", "refused"),
        ("resources/read", {"uri": f"zava://x{SURROGATE}"}, "(unknown)", "refused"),
        ("prompts/get", {"name": "restock_plan", "arguments": {"store": "Seattle"}},
         "restock_plan", "ok"),
        ("prompts/get", {"name": "no_such_prompt"}, "(unknown)", "refused"),
        ("prompts/get", {"name": "find_products_like", "arguments": {"description": SURROGATE}},
         "find_products_like", "refused"),
    ],
)  # fmt: skip
def test_resource_reads_and_prompt_requests_are_audited(
    database, url, token, method, params, tool, outcome
):
    response, client_id = send(url, method, params, token=token)
    assert response.status_code == 200
    assert ("result" in response.json()) == (outcome == "ok")
    row = the_row(client_id)
    assert (row.method, row.tool, row.outcome) == (method, tool, outcome)


# --- No encoding error becomes a 500, whatever the entry point -------------------------


@pytest.mark.parametrize(
    ("method", "params", "token_kind"),
    [
        ("tools/call", {"name": "execute_sales_query", "arguments": {"bad": SURROGATE}}, "good"),
        ("tools/call", {"name": f"no{SURROGATE}", "arguments": {}}, "good"),
        ("resources/read", {"uri": f"zava://schema/{SURROGATE}"}, "good"),
        ("prompts/get", {"name": "compare_my_stores", "arguments": {"period": SURROGATE}}, "good"),
        ("prompts/get", {"name": SURROGATE}, "good"),
        ("tools/call", {"name": SURROGATE, "arguments": {}}, "bad"),
    ],
)
def test_no_entry_point_answers_500_on_a_surrogate(
    database, url, tokens, method, params, token_kind
):
    token = tokens[SEATTLE.email] if token_kind == "good" else BAD_TOKEN
    response, client_id = send(url, method, params, token=token)
    assert response.status_code in {200, 401}
    response.content.decode("utf-8")  # strict: raises on anything invalid
    the_row(client_id)


def test_malformed_json_with_a_surrogate_is_a_parse_error(url, token):
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}"}
    response = httpx.post(url, content=b'{"jsonrpc": "2.0", "id": 1, "\\ud800', headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


# --- Recording that fails closes the request -------------------------------------------


def test_a_request_that_cannot_be_recorded_is_not_answered(database, url, token):
    """With the audit table unwritable, a tool call answers an error, never its data."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "ALTER TABLE audit_requests ADD CONSTRAINT audit17_closed "
            "CHECK (client_request_id NOT LIKE 'audit17-closed-%') NOT VALID"
        )
    try:
        client_id = f"audit17-closed-{uuid.uuid4().hex}"
        headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}", "X-Request-ID": client_id}
        sql = "SELECT count(*) FROM retail.orders"
        params = {"name": "execute_sales_query", "arguments": {"postgresql_query": sql}}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params}
        payload = tool_error(httpx.post(url, json=body, headers=headers, timeout=30))
        assert payload["code"] == "unavailable"
        assert payload["r"] == []
        body = {"jsonrpc": "2.0", "id": 2, "method": "resources/read",
                "params": {"uri": "zava://stores/mine"}}  # fmt: skip
        answer = httpx.post(url, json=body, headers=headers, timeout=30).json()
        assert "result" not in answer and answer["error"]["code"] == -32603
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute("ALTER TABLE audit_requests DROP CONSTRAINT audit17_closed")
    assert not AuditedRequest.objects.filter(client_request_id=client_id).exists()
    assert not call_tool(url, token, "get_current_utc_date").isError


# --- 6. Extreme dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("get_store_performance", {"period": "0001"}),
        ("get_store_performance", {"as_of": "0001-01-01"}),
        ("get_sales_trend", {"as_of": "9999-12-31"}),
        ("plot_sales_trend", {"period": "9999"}),
        ("get_inventory_alerts", {"as_of": "0001-01-05"}),
        ("get_top_products", {"period": "0001-01-01..0001-12-31"}),
        ("get_category_seasonality", {"as_of": "9999-12-31"}),
    ],
)
def test_extreme_dates_are_validation_errors_naming_the_range(
    database, url, token, tool, arguments
):
    response, client_id = send(
        url, "tools/call", {"name": tool, "arguments": arguments}, token=token
    )
    payload = tool_error(response)
    assert payload["code"] == "validation_error"
    assert "2000-01-01 to 2100-12-31" in payload["err"]
    row = the_row(client_id)
    assert (row.tool, row.outcome, row.error_code) == (tool, "refused", "validation_error")
