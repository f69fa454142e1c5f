"""The analytics tools: ready answers to the questions managers ask most often.

Each tool validates its arguments, calls one service of ``retail.services.analytics``
inside the caller's tenant context (:mod:`mcp_tools.pipeline` runs it), and answers with the
report as JSON twice: as ``structuredContent`` matching the tool's output schema,
and as text for clients that read only text. ``chart=true`` (and
``plot_sales_trend``) adds a PNG image and a ``resource_link`` to the same chart, which
the caller can read again for a while. The pipeline fences the text as untrusted data
(``fenced=True``); ``structuredContent`` is the plain report. Access rules
stay in PostgreSQL.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from mcp import types
from mcp_server import MCPToolset
from pydantic import Field
from pydantic_core import to_jsonable_python

from mcp_tools.answers import ToolAnswer, dumps
from mcp_tools.resources import chart_link
from mcp_tools.server import tool
from mcp_tools.untrusted import UNTRUSTED_RESULTS
from retail.services.analytics import (
    InventoryAlertsReport,
    SalesTrendReport,
    SeasonalityReport,
    StorePerformanceReport,
    TopProductsReport,
    charts,
    get_category_seasonality,
    get_inventory_alerts,
    get_sales_trend,
    get_store_performance,
    get_top_products,
    parse_day,
)
from retail.services.stored_charts import keep_chart

PERIODS = (
    "Periods: last_7_days, last_30_days, last_N_days, last_N_weeks (ending today); "
    "last_week, last_month, last_quarter, last_year (the last complete one); this_week, "
    "this_month, this_quarter, this_year (to date); a year 2024, a quarter 2024-Q1, a month "
    "2024-03, a day 2024-03-15, or a range 2024-01-01..2024-03-31 (both ends included)."
)
INSIGHTS = (
    "The answer carries short plain-language insights computed from its own numbers; "
    "quote them or the figures, never invent others."
)

PeriodArg = Annotated[
    str, Field(description=f"The period to report. {PERIODS}", min_length=1, max_length=40)
]
AsOfArg = Annotated[
    str | None,
    Field(
        description=(
            "Count relative periods (last_30_days, this_month, ...) back from this day, "
            "YYYY-MM-DD, instead of today (UTC). Use the latest order date when the data "
            "stops before today."
        ),
        max_length=10,
    ),
]
CategoryArg = Annotated[
    str | None,
    Field(
        description="Only this product category (exact name, any case), e.g. 'Power Tools'.",
        max_length=100,
    ),
]
StoreArg = Annotated[
    str | None,
    Field(
        description="Only this one of your stores, e.g. 'Seattle' or 'Zava Retail Seattle'.",
        max_length=100,
    ),
]
ChartArg = Annotated[bool, Field(description="Also return a PNG chart of the answer.")]
Granularity = Annotated[
    Literal["day", "week", "month"],
    Field(description="One point per day, week (Monday to Sunday) or calendar month."),
]

STORE_PERFORMANCE_DESCRIPTION = f"""Store performance in a period, per store you manage:
revenue, orders, units, average order value and gross margin (revenue minus product
cost), each with its change against the previous period (the calendar unit before for
years, quarters, months and weeks; as many days just before for rolling periods), plus
totals across your stores. Use it for "how did my stores do last month?" or "compare
my stores". {PERIODS} {INSIGHTS}
{UNTRUSTED_RESULTS}"""

TOP_PRODUCTS_DESCRIPTION = f"""The best-selling products of a period across your stores,
ranked by revenue, units or gross margin, optionally within one category, with each
product's share of revenue and margin rate, and totals over every product sold.
{PERIODS} {INSIGHTS}
{UNTRUSTED_RESULTS}"""

SALES_TREND_DESCRIPTION = f"""Sales over time across your stores: revenue, orders, units
and gross margin per day, week or month of a period, optionally for one category.
Every bucket appears (empty ones as zero); buckets cut by the period's edges are
marked complete=false. Set chart=true for a line chart, or use plot_sales_trend.
{PERIODS} {INSIGHTS}
{UNTRUSTED_RESULTS}"""

PLOT_TREND_DESCRIPTION = f"""A line chart (PNG image) of revenue and gross margin per day,
week or month of a period across your stores, optionally for one category, with the
same data as get_sales_trend as JSON text. Use it when the user wants to see a trend.
{PERIODS} {UNTRUSTED_RESULTS}"""

INVENTORY_DESCRIPTION = f"""Inventory alerts: products that will run out within
threshold_days at the recent sales rate (units sold in the last window_days), per store
you manage, most urgent first, with stock, daily rate, days of cover and the date stock
runs out. Use it for restocking plans. {INSIGHTS}
{UNTRUSTED_RESULTS}"""

SEASONALITY_DESCRIPTION = f"""Seasonality of a product category (or of all sales): revenue
per month of every year, and the average monthly shape over complete years as an index
(100 = an average month; 130 = 30% above). Use it for "when does X sell best?" or to
plan stock ahead of a season. {INSIGHTS}
{UNTRUSTED_RESULTS}"""


class AnalyticsTools(MCPToolset):
    """Ready analytics for one manager's stores."""

    @tool(STORE_PERFORMANCE_DESCRIPTION, output=StorePerformanceReport, fenced=True)
    def get_store_performance(
        self,
        period: PeriodArg = "last_30_days",
        store: StoreArg = None,
        as_of: AsOfArg = None,
        chart: ChartArg = False,
    ) -> ToolAnswer:
        report = get_store_performance(period, store, today=_day(as_of))
        draw = charts.store_performance_chart if chart else None
        return _answer(report, rows=len(report.stores), draw=draw)

    @tool(TOP_PRODUCTS_DESCRIPTION, output=TopProductsReport, fenced=True)
    def get_top_products(
        self,
        period: PeriodArg = "last_30_days",
        by: Annotated[
            Literal["revenue", "units", "margin"],
            Field(description="Rank by revenue, units sold or gross margin (in dollars)."),
        ] = "revenue",
        category: CategoryArg = None,
        limit: Annotated[int, Field(description="How many products.", ge=1, le=100)] = 10,
        as_of: AsOfArg = None,
        chart: ChartArg = False,
    ) -> ToolAnswer:
        report = get_top_products(period, by, category, limit, today=_day(as_of))
        draw = charts.top_products_chart if chart and report.products else None
        return _answer(report, rows=len(report.products), draw=draw)

    @tool(SALES_TREND_DESCRIPTION, output=SalesTrendReport, fenced=True)
    def get_sales_trend(
        self,
        period: PeriodArg = "last_90_days",
        granularity: Granularity = "week",
        category: CategoryArg = None,
        as_of: AsOfArg = None,
        chart: ChartArg = False,
    ) -> ToolAnswer:
        return _sales_trend(period, granularity, category, as_of, chart=chart)

    @tool(PLOT_TREND_DESCRIPTION, output=SalesTrendReport, fenced=True)
    def plot_sales_trend(
        self,
        period: PeriodArg = "last_90_days",
        granularity: Granularity = "week",
        category: CategoryArg = None,
        as_of: AsOfArg = None,
    ) -> ToolAnswer:
        return _sales_trend(period, granularity, category, as_of, chart=True)

    @tool(INVENTORY_DESCRIPTION, output=InventoryAlertsReport, fenced=True)
    def get_inventory_alerts(
        self,
        threshold_days: Annotated[
            int, Field(description="Alert when stock lasts this many days or less.", ge=1, le=365)
        ] = 14,
        store: StoreArg = None,
        window_days: Annotated[
            int,
            Field(description="Days of recent sales that set the daily rate.", ge=7, le=365),
        ] = 28,
        limit: Annotated[
            int, Field(description="Most alerts to return, most urgent first.", ge=1, le=500)
        ] = 50,
        as_of: Annotated[
            str | None,
            Field(
                description=(
                    "The day the sales window ends, YYYY-MM-DD, instead of today (UTC). Use "
                    "the latest order date when the data stops before today."
                ),
                max_length=10,
            ),
        ] = None,
    ) -> ToolAnswer:
        report = get_inventory_alerts(
            threshold_days, store, window_days=window_days, limit=limit, today=_day(as_of)
        )
        return _answer(report, rows=len(report.alerts))

    @tool(SEASONALITY_DESCRIPTION, output=SeasonalityReport, fenced=True)
    def get_category_seasonality(
        self,
        category: CategoryArg = None,
        as_of: AsOfArg = None,
        chart: ChartArg = False,
    ) -> ToolAnswer:
        report = get_category_seasonality(category, today=_day(as_of))
        draw = charts.seasonality_chart if chart and report.shape else None
        return _answer(report, rows=len(report.years), draw=draw)


def _sales_trend(
    period: str, granularity: str, category: str | None, as_of: str | None, *, chart: bool
) -> ToolAnswer:
    report = get_sales_trend(period, granularity, category, today=_day(as_of))
    draw = charts.sales_trend_chart if chart else None
    return _answer(report, rows=len(report.points), draw=draw)


def _day(as_of: str | None) -> date | None:
    return parse_day(as_of, field="as_of") if as_of else None


def _answer(report: Any, *, rows: int, draw: Callable[[Any], bytes] | None = None) -> ToolAnswer:
    """The report as structured content and as fenced JSON text, and its chart when asked."""
    data = to_jsonable_python(report)
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=dumps(data))]
    if draw is not None:
        png = draw(report)
        image = base64.b64encode(png).decode("ascii")
        content.append(types.ImageContent(type="image", data=image, mimeType="image/png"))
        kept = keep_chart(png)
        if kept is not None:
            content.append(chart_link(kept, size=len(png)))
    return ToolAnswer(content=content, rows=rows, structured=data)
