"""The audit admin shows real calls made over HTTP, with their outcomes, and filters them.

The calls go to the gunicorn test server; each carries an X-Request-ID that names
this test run (kept as the client's request id), so the rows can be found (and
deleted afterwards) without touching rows other tests wrote.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import date

import pytest
from django.urls import reverse

from retail.models import AuditedRequest, Store
from tests.identities import PUGET_SOUND
from tests.mcp_client import post

CARTESIAN = "SELECT count(*) FROM retail.order_items a, retail.order_items b, retail.order_items c"
CHANGELIST = reverse("admin:retail_auditedrequest_changelist")

# case: (tool, arguments); "unauthorized" goes with an unknown token
CASES = {
    "ok": ("execute_sales_query", {"postgresql_query": "SELECT count(*) FROM retail.stores"}),
    "date": ("get_current_utc_date", {}),
    "refused": ("execute_sales_query", {"postgresql_query": "DELETE FROM retail.orders"}),
    "timeout": ("execute_sales_query", {"postgresql_query": CARTESIAN}),
    "unauthorized": ("execute_sales_query", {"postgresql_query": "SELECT 1"}),
}


def call(url: str, token: str, request_id: str, tool: str, arguments: dict) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    return post(url, body, token=token, headers={"X-Request-ID": request_id}).status_code


@pytest.fixture(scope="module")
def run_id() -> str:
    return f"audit-{secrets.token_hex(6)}"


@pytest.fixture(scope="module")
def audited(zava_server, tokens, run_id, django_db_blocker) -> Iterator[dict[str, AuditedRequest]]:
    """One audited call per case, made once for the module; the rows are deleted after."""
    statuses = {}
    for case, (tool, arguments) in CASES.items():
        token = "zava_" + "x" * 43 if case == "unauthorized" else tokens[PUGET_SOUND.email]
        statuses[case] = call(zava_server.mcp_url, token, f"{run_id}-{case}", tool, arguments)
    assert statuses["unauthorized"] == 401
    assert {s for c, s in statuses.items() if c != "unauthorized"} == {200}
    with django_db_blocker.unblock():
        rows = {c.client_request_id.removeprefix(f"{run_id}-"): c for c in _rows(run_id)}
        yield rows
        _rows(run_id).delete()


def _rows(run_id: str):
    return AuditedRequest.objects.filter(client_request_id__startswith=run_id)


def listed(client, run_id: str, **filters: str) -> set[str]:
    """The cases of this run the audit changelist shows with ``filters``."""
    response = client.get(CHANGELIST, {"q": run_id, **filters})
    assert response.status_code == 200
    return {
        c.client_request_id.removeprefix(f"{run_id}-") for c in response.context["cl"].result_list
    }


def store_id(name: str) -> str:
    return str(Store.objects.get(store_name=f"Zava Retail {name}").pk)


@pytest.mark.parametrize(
    ("case", "outcome", "error_code"),
    [
        ("ok", "ok", ""),
        ("refused", "refused", "validation_error"),
        ("timeout", "timeout", "timeout"),
        ("unauthorized", "unauthorized", "authorization_error"),
    ],
)
def test_every_call_is_recorded_with_its_outcome(audited, case, outcome, error_code):
    row = audited[case]
    assert (row.outcome, row.error_code) == (outcome, error_code)
    assert row.tool == "execute_sales_query"
    expected_manager = None if case == "unauthorized" else PUGET_SOUND.id
    assert row.manager_id == expected_manager


def test_a_successful_query_records_its_sql_rows_and_duration(audited):
    row = audited["ok"]
    assert row.arguments == {"postgresql_query": "SELECT count(*) FROM retail.stores"}
    assert row.rows == 1
    assert row.duration_ms is not None and row.duration_ms >= 0
    assert audited["timeout"].duration_ms >= 1000  # the test server's timeout is 1.5 s


def test_the_audit_list_shows_who_what_and_the_outcome(admin_client, audited, run_id):
    page = admin_client.get(CHANGELIST, {"q": run_id}).content.decode()
    assert "Puget Sound regional manager" in page
    assert "SELECT count(*) FROM retail.stores" in page
    assert "DELETE FROM retail.orders" in page
    for label in ("Succeeded", "Timed out", "Authentication failed"):
        assert label in page
    assert listed(admin_client, run_id) == set(CASES)


def test_the_outcome_filter(admin_client, audited, run_id):
    assert listed(admin_client, run_id, outcome__exact="timeout") == {"timeout"}
    assert listed(admin_client, run_id, outcome__exact="refused") == {"refused"}
    assert listed(admin_client, run_id, outcome__exact="unauthorized") == {"unauthorized"}
    assert listed(admin_client, run_id, outcome__exact="ok") == {"ok", "date"}


def test_the_tool_filter(admin_client, audited, run_id):
    assert listed(admin_client, run_id, tool="get_current_utc_date") == {"date"}
    assert listed(admin_client, run_id, tool="execute_sales_query") == set(CASES) - {"date"}


def test_the_method_and_date_filters(admin_client, audited, run_id):
    assert listed(admin_client, run_id, method="tools/call") == set(CASES)
    assert listed(admin_client, run_id, method="resources/read") == set()
    today = {"created_at__gte": f"{date.today().isoformat()} 00:00:00+00:00"}
    assert listed(admin_client, run_id, **today) == set(CASES)


def test_the_manager_filter(admin_client, audited, run_id):
    puget = listed(admin_client, run_id, manager__id__exact=str(PUGET_SOUND.id))
    assert puget == set(CASES) - {"unauthorized"}


def test_the_store_filter_keeps_calls_of_managers_who_see_the_store(admin_client, audited, run_id):
    assert listed(admin_client, run_id, store=store_id("Seattle")) == set(CASES) - {"unauthorized"}
    assert listed(admin_client, run_id, store=store_id("Spokane")) == set()


def test_a_calls_page_shows_its_sql_and_cannot_be_changed(admin_client, audited):
    row = audited["refused"]
    url = reverse("admin:retail_auditedrequest_change", args=[row.pk])
    page = admin_client.get(url).content.decode()
    assert "DELETE FROM retail.orders" in page
    assert 'name="_save"' not in page
    assert admin_client.post(url, {}).status_code == 403
    assert admin_client.get(reverse("admin:retail_auditedrequest_add")).status_code == 403
    delete = reverse("admin:retail_auditedrequest_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditedRequest.objects.filter(pk=row.pk).exists()


def test_the_list_shows_a_querys_fingerprint_and_its_page_the_whole_padded_text(
    admin_client, zava_server, tokens, run_id
):
    """Padding (issue 17) hides nothing: fingerprint first in the list, all of it on the page."""
    sql = "/*" + "x" * 4_100 + "*/ SELECT first_name FROM retail.customers LIMIT 3"
    arguments = {"postgresql_query": sql}
    token = tokens[PUGET_SOUND.email]
    assert call(zava_server.mcp_url, token, f"{run_id}-padded", "execute_sales_query",
                arguments) == 200  # fmt: skip
    try:
        row = _rows(run_id).get(client_request_id=f"{run_id}-padded")
        assert row.query_fingerprint
        listing = admin_client.get(CHANGELIST, {"q": f"{run_id}-padded"}).content.decode()
        assert row.query_fingerprint in listing
        page = admin_client.get(reverse("admin:retail_auditedrequest_change", args=[row.pk]))
        text = page.content.decode()
        assert "*/ SELECT first_name FROM retail.customers LIMIT 3" in text
        assert row.query_sha256 in text
    finally:
        _rows(run_id).filter(client_request_id=f"{run_id}-padded").delete()


def test_the_list_under_its_name_before_migration_0014_redirects_with_its_filters(admin_client):
    response = admin_client.get("/admin/retail/toolcall/", {"q": "r1", "outcome": "ok"})
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?q=r1&outcome=ok"
