"""MCP resources through real HTTP and the official client: table schemas, the
caller's own stores and the charts it drew, each read in the caller's tenant context
on the request thread."""

from __future__ import annotations

import base64
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from mcp import types
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from mcp_tools.pipeline import RESOURCE_NOT_FOUND
from mcp_tools.resources import CHART_URI
from retail.models import AuditedRequest
from retail.services.analytics.scope import visible_stores
from retail.services.seeding import MANAGERS, STORES
from retail.services.stored_charts import chart_cache_key
from retail.services.table_docs import VALID_TABLE_NAMES
from retail.tenancy import active_context
from tests.identities import (
    BELLEVUE,
    EASTERN_ONLINE,
    HEAD_OFFICE,
    PUGET_SOUND,
    SEATTLE,
    kind_id,
    store_ids,
)
from tests.mcp_client import SharedSession, fenced, post, rpc, with_session, with_stdio_session

MY_STORES = "zava://stores/mine"


def _read(session: SharedSession, uri: str) -> types.ReadResourceResult:
    return session.run(lambda s: s.read_resource(AnyUrl(uri)))


def _stores_in(result: types.ReadResourceResult) -> list[list]:
    (content,) = result.contents
    assert content.mimeType == "application/json"
    return json.loads(fenced(content.text)[1])["r"]


def _my_stores(url: str, token: str) -> list[list]:
    """The caller's stores, read in a fresh session of its own."""
    return _stores_in(with_session(url, token, lambda s: s.read_resource(AnyUrl(MY_STORES))))


def test_resources_list_every_table_schema_my_stores_and_both_templates(session_of):
    async def work(session):
        return await session.list_resources(), await session.list_resource_templates()

    resources, templates = session_of(SEATTLE).run(work)
    uris = {str(resource.uri) for resource in resources.resources}
    assert uris == {f"zava://schema/{table}" for table in VALID_TABLE_NAMES} | {MY_STORES}
    assert all(resource.description for resource in resources.resources)
    by_uri = {template.uriTemplate: template for template in templates.resourceTemplates}
    assert set(by_uri) == {"zava://catalogue/{category}/{product_type}", "zava://charts/{chart_id}"}
    catalogue = by_uri["zava://catalogue/{category}/{product_type}"]
    assert catalogue.description and catalogue.mimeType == "application/json"
    assert by_uri["zava://charts/{chart_id}"].mimeType == "image/png"


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


def _read_error(session: SharedSession, uri: str) -> types.ErrorData:
    """The JSON-RPC error a read of ``uri`` gets."""

    async def work(client):
        with pytest.raises(McpError) as error:
            await client.read_resource(AnyUrl(uri))
        return error.value.error

    return session.run(work)


def test_an_unknown_resource_is_a_json_rpc_error(session_of):
    error = _read_error(session_of(SEATTLE), "zava://schema/auth_user")
    assert error.code == RESOURCE_NOT_FOUND
    assert "Unknown resource" in error.message


def test_the_catalogue_template_reads_one_types_products_and_names_the_valid_ones(session_of):
    uri = "zava://catalogue/garden%20%26%20outdoor/Hoses%20%26%20Watering"
    products = json.loads(fenced(_read(session_of(SEATTLE), uri).contents[0].text)[1])
    assert products["n"] == len(products["r"]) > 0

    error = _read_error(session_of(SEATTLE), "zava://catalogue/Garden%20%26%20Outdoor/Saws")
    assert error.code == RESOURCE_NOT_FOUND
    assert "Unknown product type 'Saws' in Garden & Outdoor. Valid: " in error.message
    assert "Hoses & Watering" in error.message


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


# --- Charts kept for their caller: zava://charts/<id> ------------------------------------

TREND = {"period": "2025", "granularity": "month"}


def _drawn(session: SharedSession) -> tuple[types.ResourceLink, bytes]:
    """A chart drawn by plot_sales_trend: its resource link and the image's bytes."""
    result = session.call_tool("plot_sales_trend", TREND)
    assert not result.isError
    (image,) = [block for block in result.content if isinstance(block, types.ImageContent)]
    (link,) = [block for block in result.content if isinstance(block, types.ResourceLink)]
    return link, base64.b64decode(image.data)


def _read_error(session: SharedSession, uri: str) -> types.ErrorData:
    async def work(s):
        with pytest.raises(McpError) as error:
            await s.read_resource(AnyUrl(uri))
        return error.value.error

    return session.run(work)


def test_a_chart_link_reads_back_the_same_png_for_its_caller(session_of):
    link, png = _drawn(session_of(SEATTLE))
    assert link.mimeType == "image/png" and link.size == len(png)
    (content,) = _read(session_of(SEATTLE), str(link.uri)).contents
    assert isinstance(content, types.BlobResourceContents)
    assert content.mimeType == "image/png"
    assert base64.b64decode(content.blob) == png


@pytest.mark.parametrize("reader", [BELLEVUE, PUGET_SOUND, HEAD_OFFICE], ids=kind_id)
def test_nobody_else_can_read_a_chart_not_even_a_manager_of_the_same_store(session_of, reader):
    """Puget Sound manages Seattle too, head office sees every store: a chart stays its
    drawer's. The answer is the one for an ID that never existed: nothing leaks."""
    link, _ = _drawn(session_of(SEATTLE))
    refused = _read_error(session_of(reader), str(link.uri))
    never_existed = _read_error(session_of(reader), "zava://charts/" + "0" * 32)
    assert refused.code == RESOURCE_NOT_FOUND
    assert (refused.code, refused.message) == (never_existed.code, never_existed.message)
    assert "chart" in refused.message and link.uri.path.strip("/") not in refused.message


@pytest.mark.parametrize("chart_id", ["not-an-id", "0" * 31, "%2e%2e", "A" * 32])
def test_malformed_chart_ids_are_not_found(session_of, chart_id):
    assert _read_error(session_of(SEATTLE), f"zava://charts/{chart_id}").code == RESOURCE_NOT_FOUND


def test_a_chart_cannot_be_read_after_it_expires(session_of, database):
    before = datetime.now(UTC)
    link, _ = _drawn(session_of(SEATTLE))
    after = datetime.now(UTC)
    chart_id = str(link.uri).removeprefix("zava://charts/")
    expires = datetime.fromisoformat(link.meta["zava/expires"])
    lifetime = timedelta(seconds=settings.ZAVA_CHART_LINK_SECONDS)
    assert before + lifetime - timedelta(seconds=1) <= expires <= after + lifetime
    assert expires.isoformat(timespec="seconds") in link.description
    _read(session_of(SEATTLE), str(link.uri))  # readable until then

    assert cache.touch(chart_cache_key(chart_id), 0)  # its lifetime ends now
    assert _read_error(session_of(SEATTLE), str(link.uri)).code == RESOURCE_NOT_FOUND


def test_chart_reads_are_audited_under_the_template(session_of, url, tokens, database):
    link, _ = _drawn(session_of(SEATTLE))
    rows = {}
    for spec in (SEATTLE, BELLEVUE):
        client_id = f"chart-{uuid.uuid4().hex}"
        response = post(
            url,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "resources/read",
                "params": {"uri": str(link.uri)},
            },
            token=tokens[spec.email],
            headers={"X-Request-ID": client_id},
        )
        assert response.status_code == 200
        (rows[spec.email],) = AuditedRequest.objects.filter(client_request_id=client_id)
    mine, theirs = rows[SEATTLE.email], rows[BELLEVUE.email]
    for row, spec in ((mine, SEATTLE), (theirs, BELLEVUE)):
        assert (row.method, row.tool, row.arguments) == (
            "resources/read",
            CHART_URI,
            {"uri": str(link.uri)},
        )
        assert row.manager_id == spec.id
    assert (mine.outcome, mine.error_code) == ("ok", "")
    assert (theirs.outcome, theirs.error_code) == ("refused", "validation_error")
