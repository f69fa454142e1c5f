"""Icons for the server, tools, prompts and resources (MCP 2025-11-25).

Small SVG and 48x48 PNG files in ``mcp_tools/static/mcp_tools/icons/``, served by
WhiteNoise like the admin's static files, so nothing is fetched from elsewhere. Each
icon is offered twice: PNG, which every client that shows icons must support, and SVG,
which most do. Their URLs are absolute, built from the server's public origin (the
request's own, or ``ZAVA_PUBLIC_URL``). A tool, prompt or resource without an icon of
its own gets its kind's.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urljoin

from django.templatetags.static import static
from mcp import types

ICON_DIRECTORY = "mcp_tools/icons"
PNG_SIZE = "48x48"
SERVER_ICON = "zava"
KIND_ICONS = {"tool": "chart", "prompt": "prompt", "resource": "database"}
OWN_ICONS = {
    "tool": {
        "get_multiple_table_schemas": "database",
        "execute_sales_query": "database",
        "get_current_utc_date": "clock",
        "semantic_search_products": "search",
    },
    "resource": {"my-stores": "store", "catalogue-products": "catalogue"},
}


@lru_cache(maxsize=64)
def icons(icon: str, origin: str) -> tuple[types.Icon, ...]:
    """The PNG and the SVG of ``icon``, by absolute URL under ``origin``."""
    base = origin.rstrip("/") + "/"
    return (
        types.Icon(
            src=urljoin(base, static(f"{ICON_DIRECTORY}/{icon}.png")),
            mimeType="image/png",
            sizes=[PNG_SIZE],
        ),
        types.Icon(
            src=urljoin(base, static(f"{ICON_DIRECTORY}/{icon}.svg")),
            mimeType="image/svg+xml",
            sizes=["any"],
        ),
    )


def icons_of(kind: str, name: str, origin: str) -> list[types.Icon]:
    """The icons of the tool, prompt or resource ``name``."""
    return list(icons(OWN_ICONS.get(kind, {}).get(name, KIND_ICONS[kind]), origin))


def server_icons(origin: str) -> list[types.Icon]:
    return list(icons(SERVER_ICON, origin))


def with_icons(result: types.Result, origin: str) -> types.Result:
    """A list answer (tools, prompts, resources, templates) with every item's icons."""
    for field, kind in (
        ("tools", "tool"),
        ("prompts", "prompt"),
        ("resources", "resource"),
        ("resourceTemplates", "resource"),
    ):
        items = getattr(result, field, None)
        if isinstance(items, list):
            decorated = [
                item.model_copy(update={"icons": icons_of(kind, item.name, origin)})
                for item in items
            ]
            return result.model_copy(update={field: decorated})
    return result
