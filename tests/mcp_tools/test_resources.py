"""MCP resources through real HTTP and the official client: table schemas and the
caller's own stores, each read in the caller's tenant context on the request thread."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client
from mcp import types
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from mcp_tools.endpoint import RESOURCE_NOT_FOUND
from retail.services.analytics.scope import visible_stores
from retail.services.seeding import MANAGERS, STORES
from retail.services.table_docs import VALID_TABLE_NAMES
from retail.tenancy import active_context
from tests.identities import EASTERN_ONLINE, HEAD_OFFICE, PUGET_SOUND, SEATTLE, kind_id, store_ids
from tests.mcp_client import SharedSession, fenced, rpc, with_session, with_stdio_session

MY_STORES = "zava://stores/mine"


@pytest.fixture
def url(zava_server):
    return zava_server.mcp_url


def _read(session: SharedSession, uri: str) -> types.ReadResourceResult:
    return session.run(lambda s: s.read_resource(AnyUrl(uri)))


def _stores_in(result: types.ReadResourceResult) -> list[list]:
    (content,) = result.contents
    assert content.mimeType == "application/json"
    return json.loads(fenced(content.text)[1])["r"]


def _my_stores(url: str, token: str) -> list[list]:
    """The caller's stores, read in a fresh session of its own."""
    return _stores_in(with_session(url, token, lambda s: s.read_resource(AnyUrl(MY_STORES))))


def test_resources_list_every_table_schema_my_stores_and_the_chart_template(session_of):
    async def work(session):
        return await session.list_resources(), await session.list_resource_templates()

    resources, templates = session_of(SEATTLE).run(work)
    uris = {str(resource.uri) for resource in resources.resources}
    assert uris == {f"zava://schema/{table}" for table in VALID_TABLE_NAMES} | {MY_STORES}
    assert all(resource.description for resource in resources.resources)
    (chart,) = templates.resourceTemplates
    assert (chart.uriTemplate, chart.mimeType) == ("zava://charts/{chart_id}", "image/png")


@pytest.mark.parametrize("spec", MANAGERS, ids=kind_id)
def test_my_stores_shows_exactly_the_callers_stores(session_of, spec):
    rows = _stores_in(_read(session_of(spec), MY_STORES))
    assert [row[0] for row in rows] == list(store_ids(spec))
    assert [row[1] for row in rows] == [STORES[i - 1].name for i in store_ids(spec)]


def test_concurrent_reads_by_different_managers_never_mix(url, tokens):
    specs = [SEATTLE, PUGET_SOUND, HEAD_OFFICE] * 4
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda spec: _my_stores(url, tokens[spec.email]), specs))
    for spec, rows in zip(specs, answers, strict=True):
        assert [row[0] for row in rows] == list(store_ids(spec))


def test_a_resource_runs_on_the_request_thread_in_the_middlewares_context(
    database, tokens, monkeypatch
):
    """Not on FastMCP's event-loop thread, whose connection has no tenant context."""
    seen = {}

    def probe():
        context = active_context()
        seen["thread"], seen["manager"] = threading.get_ident(), context.manager_id
        return visible_stores()

    monkeypatch.setattr("mcp_tools.resources.visible_stores", probe)
    response = Client().post(
        "/mcp",
        {"jsonrpc": "2.0", "id": 1, "method": "resources/read", "params": {"uri": MY_STORES}},
        content_type="application/json",
        headers={"Authorization": f"Bearer {tokens[SEATTLE.email]}", "Accept": "application/json"},
    )
    assert response.status_code == 200, response.content
    text = response.json()["result"]["contents"][0]["text"]
    assert json.loads(fenced(text)[1])["r"] == [[1, "Zava Retail Seattle", False]]
    assert seen == {"thread": threading.get_ident(), "manager": SEATTLE.id}
    assert active_context() is None


def test_a_schema_resource_is_the_tools_documentation_for_the_caller(session_of):
    result = _read(session_of(SEATTLE), "zava://schema/retail.orders")
    (content,) = result.contents
    assert content.mimeType == "text/markdown"
    assert content.text.startswith("# Table: retail.orders")
    assert "Store names you can see: Zava Retail Seattle\n" in content.text
    assert "Years with orders: 2020" in content.text


def test_an_unknown_resource_is_a_json_rpc_error(session_of):
    async def work(session):
        with pytest.raises(McpError) as error:
            await session.read_resource(AnyUrl("zava://schema/auth_user"))
        return error.value.error

    error = session_of(SEATTLE).run(work)
    assert error.code == RESOURCE_NOT_FOUND
    assert "Unknown resource" in error.message


def test_resources_need_a_token(url):
    response = rpc(url, "", "resources/read", {"uri": MY_STORES})
    assert response.status_code == 401


@pytest.mark.slow
def test_my_stores_over_stdio_are_the_operator_given_managers(database):
    """Over stdio no middleware opened a context; the resource opens one itself."""
    result = with_stdio_session(
        EASTERN_ONLINE.email, lambda session: session.read_resource(AnyUrl(MY_STORES))
    )
    assert [row[0] for row in json.loads(fenced(result.contents[0].text)[1])["r"]] == [4, 8]
