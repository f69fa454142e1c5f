"""Icons (MCP 2025-11-25) on the server, tools, prompts, resources and templates: each
one a small PNG or SVG this server serves itself, at an absolute URL that works."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import httpx
import pytest
from django.test import Client, override_settings
from mcp import types

from tests.identities import SEATTLE
from tests.mcp_client import with_session, with_stdio_session

SVG = "{http://www.w3.org/2000/svg}"
MAX_BYTES = 16_384
PUBLIC = "https://mcp.zava.example"


async def _everything(session) -> dict[str, list]:
    """serverInfo and every listed item, each with its icons, in one session."""
    info = await session.initialize()
    return {
        "server": [info.serverInfo],
        "tools": (await session.list_tools()).tools,
        "prompts": (await session.list_prompts()).prompts,
        "resources": (await session.list_resources()).resources,
        "templates": (await session.list_resource_templates()).resourceTemplates,
    }


@pytest.fixture(scope="module")
def listed(zava_server, tokens) -> dict[str, list]:
    return with_session(zava_server.mcp_url, tokens[SEATTLE.email], _everything)


def _png_size(body: bytes) -> str:
    assert body[:8] == b"\x89PNG\r\n\x1a\n" and body[12:16] == b"IHDR"
    width, height = struct.unpack(">II", body[16:24])
    return f"{width}x{height}"


def _check_svg(body: bytes) -> None:
    root = ET.fromstring(body)  # noqa: S314 - our own file, parsed to inspect it
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("48", "48")
    for element in root.iter():
        assert element.tag.removeprefix(SVG) not in {"script", "foreignObject", "image", "a"}
        assert not any(name.lower().startswith("on") or "href" in name for name in element.attrib)


@pytest.mark.parametrize("kind", ["server", "tools", "prompts", "resources", "templates"])
def test_every_item_has_a_png_and_an_svg_icon(listed, kind):
    assert listed[kind]
    for item in listed[kind]:
        mime_types = sorted(icon.mimeType for icon in item.icons)
        assert mime_types == ["image/png", "image/svg+xml"], item.name
        sizes = {icon.mimeType: icon.sizes for icon in item.icons}
        assert sizes == {"image/png": ["48x48"], "image/svg+xml": ["any"]}


def test_icon_urls_are_absolute_on_this_server_and_serve_the_file(listed, zava_server):
    sources = {icon.src: icon for items in listed.values() for i in items for icon in i.icons}
    assert len(sources) >= 10  # the server's, and several kinds of item
    for src, icon in sources.items():
        assert src.startswith(f"{zava_server.url}/static/mcp_tools/icons/"), src
        response = httpx.get(src, timeout=10)
        assert response.status_code == 200, src
        assert response.headers["Content-Type"].split(";")[0] == icon.mimeType
        assert len(response.content) <= MAX_BYTES
        if icon.mimeType == "image/png":
            assert _png_size(response.content) == icon.sizes[0]
        else:
            _check_svg(response.content)


def test_tools_get_icons_that_say_what_they_do(listed):
    icon_of = {tool.name: tool.icons[0].src.rsplit("/", 1)[1] for tool in listed["tools"]}
    assert icon_of["execute_sales_query"] == "database.png"
    assert icon_of["semantic_search_products"] == "search.png"
    assert icon_of["get_current_utc_date"] == "clock.png"
    assert icon_of["get_store_performance"] == "chart.png"


def test_server_info_describes_the_server(listed):
    (info,) = listed["server"]
    assert info.name == "zava-mcp"
    assert "Retail analytics" in info.model_extra["description"]


@override_settings(ZAVA_PUBLIC_URL=PUBLIC)
def test_behind_a_proxy_icons_use_the_public_url(database, tokens):
    def answer(method: str, params: dict | None = None) -> dict:
        message = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            message["params"] = params
        response = Client().post(
            "/mcp", message, content_type="application/json",
            headers={"Authorization": f"Bearer {tokens[SEATTLE.email]}",
                     "Accept": "application/json"},
        )  # fmt: skip
        assert response.status_code == 200, response.content
        return response.json()["result"]

    hello = {"protocolVersion": types.LATEST_PROTOCOL_VERSION, "capabilities": {},
             "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
    server_icons = answer("initialize", hello)["serverInfo"]["icons"]
    prompts = answer("prompts/list")["prompts"]
    tools = answer("tools/list")["tools"]
    for icon in [*server_icons, *prompts[0]["icons"], *tools[0]["icons"]]:
        assert icon["src"].startswith(f"{PUBLIC}/static/mcp_tools/icons/")


@pytest.mark.slow
def test_over_stdio_icons_use_the_public_url(database, monkeypatch):
    monkeypatch.setenv("ZAVA_PUBLIC_URL", PUBLIC)
    listed = with_stdio_session(SEATTLE.email, _everything_after_initialize)
    for items in listed.values():
        for item in items:
            assert item.icons and all(i.src.startswith(f"{PUBLIC}/static/") for i in item.icons)


async def _everything_after_initialize(session) -> dict[str, list]:
    """Like ``_everything``, in a session the helper has initialised already."""
    return {
        "tools": (await session.list_tools()).tools,
        "prompts": (await session.list_prompts()).prompts,
        "resources": (await session.list_resources()).resources,
        "templates": (await session.list_resource_templates()).resourceTemplates,
    }
