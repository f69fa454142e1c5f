"""Head office's whole flow in a real browser, against gunicorn on the test database.

Log in, create a regional manager with two stores, issue a token and read it once,
call MCP with it and see those two stores; remove a mapping and see access shrink
on the next call; revoke the token and get 401. Screenshots of the key pages go to
``test-artifacts/admin/`` (git-ignored).

Playwright drives Debian's Chromium (``scripts/test-deps`` installs it) and downloads nothing.
Its synchronous API keeps an event loop running on this thread, where Django's ORM
and the MCP client's ``asyncio.run`` refuse to work, so those run on a helper
thread (:func:`off_loop`).
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.db import connections
from playwright.sync_api import Browser, Page, sync_playwright

from retail.models import AuditedRequest, Manager, Store
from tests.mcp_client import post, rows

T = TypeVar("T")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "admin"
EMAIL = "browser.regional@zava.example"
STORES_SQL = "SELECT DISTINCT store_id FROM retail.orders ORDER BY store_id"


def off_loop(work: Callable[..., T], *args: object) -> T:
    """Run ``work`` on a helper thread, away from Playwright's event loop."""

    def run() -> T:
        try:
            return work(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


@dataclass(frozen=True)
class Setup:
    url: str
    mcp_url: str
    username: str
    password: str
    seattle: int
    tacoma: int


@pytest.fixture(scope="module")
def setup(zava_server, django_db_blocker) -> Iterator[Setup]:
    """A committed superuser for the browser; everything the flow made is removed after."""
    username, password = f"browser-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
    with django_db_blocker.unblock():
        user = User.objects.create_superuser(username, email="", password=password)
        stores = dict(Store.objects.values_list("store_name", "store_id"))
    yield Setup(
        url=zava_server.url,
        mcp_url=zava_server.mcp_url,
        username=username,
        password=password,
        seattle=stores["Zava Retail Seattle"],
        tacoma=stores["Zava Retail Tacoma"],
    )
    with django_db_blocker.unblock():
        AuditedRequest.objects.filter(manager__email=EMAIL).delete()
        AuditedRequest.objects.filter(client_request_id__startswith="browser-flow-").delete()
        Manager.objects.filter(email=EMAIL).delete()  # its mappings and tokens go with it
        for session in Session.objects.all():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
        user.delete()  # and its admin-log rows


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(setup, browser) -> Iterator[Page]:
    """A fresh page; any page error or failed static file fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    yield page
    context.close()
    assert problems == []


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, setup: Setup) -> None:
    page.goto(f"{setup.url}/admin/login/")
    page.fill("#id_username", setup.username)
    page.fill("#id_password", setup.password)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")


def save_and_continue(page: Page) -> None:
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist")
    assert page.locator(".errornote").count() == 0, page.inner_text("#content")


def mapping_row_of(page: Page, store_id: int) -> int:
    """The inline row index whose store select holds ``store_id``."""
    total = int(page.input_value("#id_store_mappings-TOTAL_FORMS"))
    for index in range(total):
        if page.input_value(f"#id_store_mappings-{index}-store") == str(store_id):
            return index
    raise AssertionError(f"no mapping row for store {store_id}")


def test_head_office_maps_stores_issues_a_token_and_revokes_it(page, setup):
    log_in(page, setup)
    assert page.locator("#site-name").inner_text() == "Zava head office"
    shot(page, "01-index")

    # A regional manager with two stores; the second row comes from the admin's own JS.
    page.goto(f"{setup.url}/admin/retail/manager/add/")
    page.fill("#id_name", "Browser regional manager")
    page.fill("#id_email", EMAIL)
    page.select_option("#id_kind", "regional")
    page.select_option("#id_store_mappings-0-store", str(setup.seattle))
    page.click("#store_mappings-group .add-row a")
    page.select_option("#id_store_mappings-1-store", str(setup.tacoma))
    save_and_continue(page)
    manager_url = page.url
    shot(page, "02-manager-with-two-stores")

    # Issue a token from the manager's page: shown once, then only its prefix.
    page.click("#issue-token")
    page.fill("#id_name", "browser")
    page.fill("#id_expires_days", "7")
    page.click("input[name=_issue]")
    page.wait_for_selector("#issued-token")
    token_url = page.url
    raw = page.locator("#issued-token code.raw").inner_text().strip()
    assert raw.startswith("zava_") and len(raw) == 48
    assert page.content().count(raw) == 1
    shot(page, "03-token-shown-once")

    page.reload()
    assert page.locator("#issued-token").count() == 0
    assert raw not in page.content()
    assert f"{raw[:12]}…" in page.content()
    shot(page, "04-token-prefix-only")

    # The token sees exactly the two mapped stores.
    assert off_loop(rows, setup.mcp_url, raw, STORES_SQL) == [[setup.seattle], [setup.tacoma]]

    # Removing a mapping cuts access on the very next call.
    page.goto(manager_url)
    page.check(f"#id_store_mappings-{mapping_row_of(page, setup.tacoma)}-DELETE")
    save_and_continue(page)
    shot(page, "05-mapping-removed")
    assert off_loop(rows, setup.mcp_url, raw, STORES_SQL) == [[setup.seattle]]

    # Revoking the token: the next call gets 401.
    page.goto(token_url)
    page.click("#revoke-token")
    page.wait_for_selector(".messagelist .success")
    assert "Revoked" in page.inner_text(".messagelist")
    shot(page, "06-token-revoked")
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = off_loop(
        lambda: post(
            setup.mcp_url, call, token=raw, headers={"X-Request-ID": "browser-flow-revoked"}
        )
    )
    assert response.status_code == 401

    # The audit shows this manager's calls; the dashboard draws its charts.
    page.goto(f"{setup.url}/admin/retail/auditedrequest/?q={EMAIL}")
    assert page.locator("#result_list tbody tr").count() == 2
    shot(page, "07-audit")
    page.goto(f"{setup.url}/admin/dashboard/")
    assert page.locator("figure.zava-chart svg").count() == 4
    shot(page, "08-dashboard")


def test_the_admin_is_styled_by_static_files_served_from_gunicorn(page, setup):
    log_in(page, setup)
    header = page.evaluate("getComputedStyle(document.querySelector('#header')).display")
    assert header == "flex"  # admin/css/base.css was served and applied
    css = page.request.get(f"{setup.url}/static/retail/admin.css")
    assert css.status == 200
    assert ".zava-chart" in css.text()
