"""The middleware lets in only a valid bearer token, every other request runs nothing,
and the tool runs inside the caller's tenant context."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from mcp_tools.answers import text_answer
from mcp_tools.middleware import UNAUTHORIZED
from mcp_tools.registry import registry
from retail.models import AccessToken, AuditedRequest, Manager
from retail.services.tokens import token_issue, token_revoke
from retail.tenancy import active_context, tenant_cursor
from tests.identities import HEAD_OFFICE, SEATTLE
from tests.mcp_client import post, rows

GONE = "gone@zava.example"
CALL = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/call",
    "params": {"name": "execute_sales_query", "arguments": {"postgresql_query": "SELECT 1"}},
}


def _expired_token() -> str:
    issued = token_issue(manager=Manager.objects.get(email=SEATTLE.email), name="expired")
    AccessToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    return issued.raw


def _revoked_token() -> str:
    issued = token_issue(manager=Manager.objects.get(email=SEATTLE.email), name="revoked")
    token_revoke(token=issued.token)
    return issued.raw


def _inactive_managers_token() -> str:
    manager = Manager.objects.create(name="Gone", email=GONE, kind="store")
    issued = token_issue(manager=manager, name="inactive")
    Manager.objects.filter(pk=manager.pk).update(is_active=False)
    return issued.raw


@pytest.fixture
def forget_scratch_manager(database):
    yield
    Manager.objects.filter(email=GONE).delete()


BAD_AUTHORIZATION = {
    "missing": lambda: None,
    "not bearer": lambda: "Basic dXNlcjpwYXNz",
    "bearer without token": lambda: "Bearer",
    "malformed": lambda: "Bearer not-a-token",
    "unknown": lambda: "Bearer zava_" + "A" * 43,
    "expired": lambda: f"Bearer {_expired_token()}",
    "revoked": lambda: f"Bearer {_revoked_token()}",
    "inactive manager": lambda: f"Bearer {_inactive_managers_token()}",
}


@pytest.mark.parametrize("case", BAD_AUTHORIZATION)
def test_bad_credentials_get_401_with_a_challenge_and_run_nothing(
    database, forget_scratch_manager, url, case
):
    authorization = BAD_AUTHORIZATION[case]()
    headers = {"Authorization": authorization} if authorization else {}
    before = AuditedRequest.objects.filter(outcome="ok").count()

    response = post(url, CALL, headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="zava-mcp"')
    # One fixed JSON-RPC error whatever was wrong: the cases cannot be told apart.
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32000, "message": UNAUTHORIZED},
    }
    assert AuditedRequest.objects.filter(outcome="ok").count() == before
    refused = AuditedRequest.objects.filter(outcome="unauthorized").latest("created_at")
    assert refused.tool == "execute_sales_query"
    assert refused.manager_id is None


def test_the_reference_identity_header_grants_nothing(database, url, tokens):
    spoofed = {"x-rls-user-id": str(HEAD_OFFICE.id)}
    assert post(url, CALL, headers=spoofed).status_code == 401

    # With a store manager's token, the header does not widen access either.
    response = post(url, CALL, token=tokens[SEATTLE.email], headers=spoofed)
    assert response.status_code == 200
    assert rows(url, tokens[SEATTLE.email], "SELECT DISTINCT store_id FROM retail.orders") == [[1]]


def test_a_token_revoked_mid_session_fails_on_the_next_call(database, url):
    issued = token_issue(manager=Manager.objects.get(email=SEATTLE.email), name="short-lived")
    assert post(url, CALL, token=issued.raw).status_code == 200
    token_revoke(token=issued.token)
    assert post(url, CALL, token=issued.raw).status_code == 401


def test_a_successful_call_records_last_use(database, url):
    issued = token_issue(manager=Manager.objects.get(email=SEATTLE.email), name="used")
    assert issued.token.last_used_at is None
    post(url, CALL, token=issued.raw)
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


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
