"""Head office sees a manager's signed-in clients with their last use, and cuts them off."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken

from retail.models import Manager
from tests.identities import SEATTLE
from tests.mcp_client import post

CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


@pytest.fixture
def admin(database):
    user = User.objects.create_superuser("oauth-admin-page", email="", password="unused-password-1")
    client = Client()
    client.force_login(user)
    yield client
    client.logout()
    user.delete()


def _change_page(admin: Client) -> str:
    manager = Manager.objects.get(email=SEATTLE.email)
    response = admin.get(f"/admin/retail/manager/{manager.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_managers_page_lists_connected_clients_with_their_last_use(
    admin, make_token, zava_server
):
    token = make_token()
    AccessToken.objects.filter(user__username="seattle.signin").update(
        updated=timezone.now() - timedelta(hours=2)
    )
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 200

    page = _change_page(admin)

    assert 'id="signed-in-clients"' in page
    assert "Test MCP client" in page
    stored = AccessToken.objects.get(user__username="seattle.signin")
    assert timezone.now() - stored.updated < timedelta(minutes=1)  # the call was recorded
    assert f"{stored.updated:%Y-%m-%d %H:%M} UTC" in page


def test_revoking_a_managers_sign_ins_takes_effect_on_the_next_call(admin, make_token, zava_server):
    token = make_token()
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 200
    manager = Manager.objects.get(email=SEATTLE.email)

    response = admin.post(
        "/admin/retail/manager/",
        {"action": "revoke_sign_ins", "_selected_action": [str(manager.pk)]},
        follow=True,
    )

    assert "Revoked 1 sign-in access token(s)." in response.content.decode()
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 401
    assert 'id="signed-in-clients"' not in _change_page(admin)


@pytest.fixture
def head_office(database):
    from django.contrib.auth.models import Group

    user = User.objects.create_user(
        "oauth-head-office", password="unused-password-2", is_staff=True
    )
    user.groups.add(Group.objects.get(name="Head office"))
    client = Client()
    client.force_login(user)
    yield client
    client.logout()
    user.delete()


def test_head_office_revokes_a_single_token_in_the_admin(head_office, make_token, zava_server):
    token = make_token()
    stored = AccessToken.objects.get(user__username="seattle.signin")

    response = head_office.post(
        "/admin/oauth2_provider/accesstoken/",
        {"action": "revoke_tokens", "_selected_action": [str(stored.pk)]},
        follow=True,
    )

    assert response.status_code == 200
    assert "Revoked 1 access token." in response.content.decode()
    assert post(zava_server.mcp_url, CALL, token=token).status_code == 401
