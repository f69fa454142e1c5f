"""A manager connects an MCP client by signing in, end to end, as Claude or VS Code would.

The official SDK's ``OAuthClientProvider`` does the client's part against gunicorn:
it meets the 401, discovers the metadata, registers itself, and exchanges the code
with its PKCE verifier. Playwright on Debian's Chromium does the person's part: the
login and consent pages, and later head office revoking the token in the admin. The
browser's redirect to the client's loopback callback is caught and handed back to
the SDK, as a desktop client's local listener would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from oauth2_provider.models import AccessToken, Application
from playwright.async_api import Page, async_playwright

from tests.browser.test_admin_flow import CHROMIUM, CHROMIUM_ARGS
from tests.mcp_client import post, tool_json
from tests.oauth_server.conftest import Admin, Person

pytestmark = pytest.mark.browser
CLIENT_NAME = "Zava sign-in test client"
CALLBACK = "http://127.0.0.1:8977/callback"
STORES_SQL = "SELECT DISTINCT store_id FROM retail.orders ORDER BY store_id"
LIST_TOOLS = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}


class MemoryStorage:
    """The SDK's TokenStorage, kept in memory for one test."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


@dataclass
class BrowserPerson:
    """Signs in and consents in the browser when the SDK opens the authorization URL."""

    page: Page
    person: Person
    callbacks: list[str] = field(default_factory=list)
    consent_text: str = ""
    consent_headers: dict[str, str] = field(default_factory=dict)

    async def open(self, url: str) -> None:
        await self.page.route(CALLBACK + "*", self._catch_callback)
        self.page.on("response", self._note_consent_page)
        await self.page.goto(url)
        if await self.page.locator("#login-form").count():
            await self.page.fill("#id_username", self.person.username)
            await self.page.fill("#id_password", self.person.password)
            await self.page.click("input[type=submit]")
        await self.page.wait_for_selector("#authorizationForm")
        self.consent_text = await self.page.inner_text("#content-main")
        await self.page.click("input[name=allow]")
        while not self.callbacks:
            await asyncio.sleep(0.05)

    def _note_consent_page(self, response: Any) -> None:
        if "/o/authorize/" in response.url and response.status == 200:
            self.consent_headers = response.headers

    async def _catch_callback(self, route: Any) -> None:
        self.callbacks.append(route.request.url)
        await route.fulfill(status=200, body="You can close this window.")

    async def callback(self) -> tuple[str, str | None]:
        query = parse_qs(urlsplit(self.callbacks[-1]).query)
        return query["code"][0], query.get("state", [None])[0]


def _provider(
    mcp_url: str, storage: MemoryStorage, person: BrowserPerson, **kw: Any
) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name=CLIENT_NAME,
        redirect_uris=[CALLBACK],
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=person.open,
        callback_handler=person.callback,
        **kw,
    )


async def _stores(http: httpx.AsyncClient, mcp_url: str) -> list[list[int]]:
    async with (
        streamable_http_client(mcp_url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        result = await session.call_tool("execute_sales_query", {"postgresql_query": STORES_SQL})
        assert not result.isError, result
        return tool_json(result)["r"]


@pytest.fixture
def forget_registered_clients(database) -> Iterator[None]:
    yield
    Application.objects.filter(name=CLIENT_NAME).delete()


async def _revoke_in_admin(page: Page, base_url: str, admin: Admin, token_id: int) -> None:
    """Head office revokes the access token (and so its refresh token) in the admin."""
    await page.goto(f"{base_url}/admin/login/")
    await page.fill("#id_username", admin.username)
    await page.fill("#id_password", admin.password)
    await page.click("input[type=submit]")
    await page.wait_for_selector("#user-tools")
    await page.goto(f"{base_url}/admin/oauth2_provider/accesstoken/")
    await page.check(f"input[name=_selected_action][value='{token_id}']")
    await page.select_option("select[name=action]", "revoke_tokens")
    await page.click("button[name=index]")
    await page.wait_for_selector(".messagelist")


def test_dynamic_registration_sign_in_refresh_and_revoke(
    zava_server, seattle_person, admin_account, forget_registered_clients
):
    storage = MemoryStorage()

    async def connect_and_use() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            person = BrowserPerson(await browser.new_page(), seattle_person)
            provider = _provider(zava_server.mcp_url, storage, person)
            async with httpx.AsyncClient(auth=provider, timeout=60) as http:
                seen["stores"] = await _stores(http, zava_server.mcp_url)
                seen["first"] = storage.tokens
                seen["consent"] = person.consent_text
                seen["consent_headers"] = person.consent_headers
                # The access token ran out: the SDK refreshes it, with no browser step.
                provider.context.token_expiry_time = 1.0  # long past (0 means "never expires")
                seen["stores_after_refresh"] = await _stores(http, zava_server.mcp_url)
                seen["second"] = storage.tokens
                seen["sign_ins"] = len(person.callbacks)
            token_id = await asyncio.to_thread(_token_id, storage.tokens.access_token)
            admin_page = await (await browser.new_context()).new_page()
            await _revoke_in_admin(admin_page, zava_server.url, admin_account, token_id)
            await browser.close()
        return seen

    seen = asyncio.run(connect_and_use())

    assert seen["stores"] == [[1]]  # exactly Seattle's
    assert "Zava Retail Seattle" in seen["consent"]
    assert CLIENT_NAME in seen["consent"]
    assert "127.0.0.1:8977" in seen["consent"]
    # The client named itself when it registered: the page says so, and where the code goes.
    assert f"{CLIENT_NAME} (unverified: a name the client gave itself" in seen["consent"]
    assert "your sign-in is sent to 127.0.0.1:8977 (a program on this computer)" in seen["consent"]
    assert seen["consent_headers"]["x-frame-options"] == "DENY"
    assert seen["consent_headers"]["content-security-policy"] == "frame-ancestors 'none'"
    assert seen["stores_after_refresh"] == [[1]]
    assert seen["second"].access_token != seen["first"].access_token
    assert seen["second"].refresh_token != seen["first"].refresh_token
    assert seen["sign_ins"] == 1
    registered = Application.objects.get(name=CLIENT_NAME)
    assert registered.client_type == Application.CLIENT_PUBLIC
    # Revoked in the admin: the very next call is refused.
    response = post(zava_server.mcp_url, LIST_TOOLS, token=storage.tokens.access_token)
    assert response.status_code == 401
    refresh = httpx.post(
        f"{zava_server.url}/o/token/",
        data={
            "grant_type": "refresh_token",
            "refresh_token": storage.tokens.refresh_token,
            "client_id": registered.client_id,
        },
    )
    assert refresh.status_code == 400


def _token_id(raw: str) -> int:
    import hashlib

    from django.db import connections

    try:
        checksum = hashlib.sha256(raw.encode()).hexdigest()
        return AccessToken.objects.get(token_checksum=checksum).pk
    finally:
        connections.close_all()
