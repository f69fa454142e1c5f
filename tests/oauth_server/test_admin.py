"""Head office sees a manager's signed-in clients with their last use, and cuts them off."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application
from playwright.async_api import Page, async_playwright

from retail.models import Manager
from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS
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


ADMIN_CLIENT_NAME = "Head office's test client"


@pytest.mark.browser
def test_head_office_cannot_save_a_client_with_a_plain_http_host(zava_server, admin_account):
    """The admin's application form, in the browser: refused URIs are named at the field."""

    async def fill_and_save(page: Page, redirect_uris: str) -> str:
        await page.goto(f"{zava_server.url}/admin/oauth2_provider/application/add/")
        await page.fill("#id_name", ADMIN_CLIENT_NAME)
        await page.fill("#id_redirect_uris", redirect_uris)
        await page.check("input[name=client_type][value=public]")
        await page.check("input[name=authorization_grant_type][value=authorization-code]")
        await page.click("input[name=_save]")
        await page.wait_for_load_state()
        return await page.inner_text("body")

    async def work() -> tuple[str, str]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page()
            await page.goto(f"{zava_server.url}/admin/login/")
            await page.fill("#id_username", admin_account.username)
            await page.fill("#id_password", admin_account.password)
            await page.click("input[type=submit]")
            await page.wait_for_selector("#user-tools")
            refused = await fill_and_save(page, "https://client.example/cb\nhttp://evil.example/cb")
            saved = await fill_and_save(page, "https://client.example/cb\nhttp://[::1]:8000/cb")
            await browser.close()
            return refused, saved

    try:
        refused, saved = asyncio.run(work())
        assert "The redirect URI 'http://evil.example/cb' uses plain http" in refused
        assert "client.example/cb' " not in refused  # only the refused one is named
        assert "was added successfully" in saved
        stored = Application.objects.get(name=ADMIN_CLIENT_NAME)
        assert stored.redirect_uris.split() == ["https://client.example/cb", "http://[::1]:8000/cb"]
    finally:
        Application.objects.filter(name=ADMIN_CLIENT_NAME).delete()
