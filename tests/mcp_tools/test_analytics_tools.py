"""The analytics tools through real HTTP and the official client (which also checks
every structured answer against the tool's output schema)."""

from __future__ import annotations

import base64
from datetime import date
from decimal import Decimal

import pytest
from mcp import types

from retail.models import AuditedRequest
from retail.services.analytics.charts import HEIGHT, WIDTH
from tests.identities import PUGET_SOUND, SEATTLE, store_ids
from tests.mcp_client import tool_json
from tests.retail.services.analytics.expected import TODAY, by, cents, lines, totals
from tests.retail.services.analytics.test_charts import png_size

AS_OF = TODAY.isoformat()
ANALYTICS_TOOLS = {
    "get_store_performance": {"period": "last_30_days", "as_of": AS_OF},
    "get_top_products": {"period": "last_quarter", "by": "margin", "limit": 5, "as_of": AS_OF},
    "get_sales_trend": {"period": "2025", "granularity": "month", "category": "Power Tools"},
    "plot_sales_trend": {"period": "last_90_days", "as_of": AS_OF},
    "get_inventory_alerts": {"threshold_days": 365, "as_of": AS_OF},
    "get_category_seasonality": {"category": "paint & finishes", "as_of": AS_OF},
}


def _image(result: types.CallToolResult) -> bytes:
    images = [block for block in result.content if isinstance(block, types.ImageContent)]
    assert len(images) == 1
    assert images[0].mimeType == "image/png"
    return base64.b64decode(images[0].data)


def test_every_analytics_tool_is_listed_with_an_output_schema(session_of):
    listed = session_of(SEATTLE).run(lambda s: s.list_tools())
    schemas = {tool.name: tool.outputSchema for tool in listed.tools}
    for name in ANALYTICS_TOOLS:
        assert schemas[name]["type"] == "object"
        assert "insights" in schemas[name]["properties"]


@pytest.mark.parametrize(("name", "arguments"), ANALYTICS_TOOLS.items(), ids=list(ANALYTICS_TOOLS))
def test_each_tool_answers_structured_json_and_the_same_json_as_text(session_of, name, arguments):
    result = session_of(PUGET_SOUND).call_tool(name, arguments)
    assert not result.isError, result.content[0].text
    assert result.structuredContent == tool_json(result)
    assert result.structuredContent["insights"]
    assert all(isinstance(line, str) and line for line in result.structuredContent["insights"])


def test_store_performance_over_http_matches_hand_computed_sums(database, session_of):
    result = session_of(PUGET_SOUND).call_tool("get_store_performance", {"period": "2025"})
    report = result.structuredContent
    year = lines(date(2025, 1, 1), date(2025, 12, 31), store_ids(PUGET_SOUND))
    rows = by(year, lambda r: r.store_id)
    assert sorted(store["store_id"] for store in report["stores"]) == list(store_ids(PUGET_SOUND))
    for store in report["stores"]:
        expected = totals(rows[store["store_id"]])
        assert store["current"]["revenue"] == cents(expected.revenue)
        assert store["current"]["orders"] == expected.orders
    revenues = sum(Decimal(str(store["current"]["revenue"])) for store in report["stores"])
    assert Decimal(str(report["total"]["current"]["revenue"])) == revenues


def test_a_store_manager_sees_only_their_store_through_every_tool(session_of):
    seattle = session_of(SEATTLE)
    performance = seattle.call_tool("get_store_performance", {"period": "2025"})
    assert [s["store"] for s in performance.structuredContent["stores"]] == ["Zava Retail Seattle"]
    alerts = seattle.call_tool("get_inventory_alerts", {"threshold_days": 365, "as_of": AS_OF})
    assert {a["store_id"] for a in alerts.structuredContent["alerts"]} == {1}


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("get_sales_trend", {"period": "2025", "granularity": "week", "chart": True}),
        ("get_store_performance", {"period": "2025", "chart": True}),
        ("get_top_products", {"period": "2025", "chart": True}),
        ("get_category_seasonality", {"chart": True, "as_of": AS_OF}),
        ("plot_sales_trend", {"period": "2025-01-01..2025-03-31", "granularity": "day"}),
    ],
)
def test_charts_come_as_png_images_beside_the_data(session_of, name, arguments):
    result = session_of(PUGET_SOUND).call_tool(name, arguments)
    assert not result.isError, result.content[0].text
    assert png_size(_image(result)) == (WIDTH, HEIGHT)
    assert isinstance(result.content[0], types.TextContent)
    assert tool_json(result) == result.structuredContent
    (link,) = [block for block in result.content if isinstance(block, types.ResourceLink)]
    assert str(link.uri).startswith("zava://charts/")
    assert (link.mimeType, link.size) == ("image/png", len(_image(result)))


def test_without_chart_there_is_no_image(session_of):
    result = session_of(SEATTLE).call_tool("get_sales_trend", {"period": "2025"})
    assert [block.type for block in result.content] == ["text"]


@pytest.mark.parametrize(
    ("name", "arguments", "reason"),
    [
        ("get_store_performance", {"period": "last_fortnight"}, "period"),
        ("get_store_performance", {"period": "2024-13"}, "period"),
        ("get_sales_trend", {"period": "2024-03-01..2024-01-01"}, "period"),
        ("get_store_performance", {"as_of": "30/06/2026"}, "as_of"),
        ("get_store_performance", {"store": "Bellevue"}, "store"),
        ("get_top_products", {"category": "Garden Gnomes"}, "category"),
        ("get_top_products", {"by": "price"}, "arguments"),
        ("get_top_products", {"limit": 0}, "arguments"),
        ("get_inventory_alerts", {"threshold_days": 0}, "arguments"),
        ("get_inventory_alerts", {"window_days": 1000}, "arguments"),
        ("get_sales_trend", {"granularity": "hour"}, "arguments"),
        ("get_sales_trend", {"period": "2020-01-01..2023-12-31", "granularity": "day"},
         "granularity"),
        ("plot_sales_trend", {"period": "x" * 41}, "arguments"),
    ],
)  # fmt: skip
def test_bad_periods_and_parameters_are_validation_errors(session_of, name, arguments, reason):
    result = session_of(SEATTLE).call_tool(name, arguments)
    assert result.isError
    payload = tool_json(result)
    assert payload["code"] == "validation_error"
    assert payload["reason"] == reason
    assert payload["err"]
    assert result.structuredContent is None


def test_an_unknown_period_explains_the_accepted_forms(session_of):
    result = session_of(SEATTLE).call_tool("get_sales_trend", {"period": "soon"})
    message = tool_json(result)["err"]
    assert "Unknown period 'soon'" in message
    assert "last_30_days" in message and "2024-01-01..2024-03-31" in message


def test_analytics_calls_are_audited(database, session_of):
    before = AuditedRequest.objects.filter(tool="get_top_products").count()
    session_of(SEATTLE).call_tool("get_top_products", {"period": "2025", "limit": 3})
    session_of(SEATTLE).call_tool("get_top_products", {"period": "nope"})
    calls = AuditedRequest.objects.filter(tool="get_top_products").order_by("-id")[:2]
    assert AuditedRequest.objects.filter(tool="get_top_products").count() == before + 2
    refused, answered = calls
    assert (refused.outcome, refused.error_code) == ("refused", "validation_error")
    assert (answered.outcome, answered.rows) == ("ok", 3)
    assert answered.arguments["limit"] == 3
