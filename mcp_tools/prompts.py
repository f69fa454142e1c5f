"""Ready analysis prompts: a manager picks one, fills in a few words, and the model gets
a plan that names the tools to call and the arguments to pass.

Prompts are plain text built from their arguments; they read no data, so unlike
resources they need no tenant context. Every prompt ends with the same rule: answer
only from what the tools return.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from mcp_server import mcp_server
from pydantic import Field

GROUNDING = (
    "Use only the numbers the tools return and quote their insights where they help; "
    "never invent figures. Name stores and products, not internal IDs."
)

StoreArg = Annotated[
    str,
    Field(description="One of your stores, e.g. 'Seattle'; empty for all of them.", max_length=100),
]
AsOfArg = Annotated[
    str,
    Field(
        description="Count back from this day (YYYY-MM-DD) instead of today; empty for today.",
        max_length=10,
    ),
]


def _call(tool: str, **arguments: Any) -> str:
    """A tool call written out for the model, leaving out arguments not given."""
    given = {name: value for name, value in arguments.items() if value not in ("", None)}
    return f"{tool} {json.dumps(given)}"


@mcp_server.prompt(
    name="weekly_store_review",
    title="Weekly store review",
    description="Review last week: sales against the week before, best sellers, stock to reorder.",
)
def weekly_store_review(store: StoreArg = "", as_of: AsOfArg = "") -> str:
    who = store or "each of my stores"
    return f"""Write a short weekly review of {who} for last week (Monday to Sunday).

1. Call {_call("get_store_performance", period="last_week", store=store, as_of=as_of)}.
2. Call {_call("get_top_products", period="last_week", limit=5, as_of=as_of)}.
3. Call {_call("get_inventory_alerts", threshold_days=14, store=store, as_of=as_of)}.

Then write: the headline (revenue, orders, average order value and gross margin, each
with its change against the week before), the five best sellers, the products that
need reordering, and one or two concrete actions for this week. Keep it under 200
words. {GROUNDING}"""


@mcp_server.prompt(
    name="compare_my_stores",
    title="Compare my stores",
    description="Rank your stores on a metric for a period and explain the differences.",
)
def compare_my_stores(
    period: Annotated[
        str, Field(description="e.g. last_30_days, last_quarter, 2025.", max_length=40)
    ] = "last_30_days",
    metric: Annotated[
        str,
        Field(
            description="revenue, orders, units, average_order_value or gross_margin.",
            max_length=40,
        ),
    ] = "revenue",
) -> str:
    return f"""Compare my stores on {metric} for {period}.

1. Call {_call("get_store_performance", period=period, chart=True)}.
2. Rank the stores by {metric}, with each store's change against the previous period.
3. Explain the gaps: is a store ahead on number of orders or on average order value?
   Which store's gross margin rate stands out, up or down?

Finish with the one store that most needs attention and why, in one sentence.
{GROUNDING}"""


@mcp_server.prompt(
    name="find_products_like",
    title="Find products like X",
    description="Find products similar in meaning to a description and how well they sell.",
)
def find_products_like(
    description: Annotated[
        str,
        Field(
            description="The product in your own words, e.g. 'outdoor waterproof junction box'.",
            min_length=1,
            max_length=500,
        ),
    ],
    period: Annotated[
        str, Field(description="Sales period, e.g. last_90_days or 2025.", max_length=40)
    ] = "last_90_days",
) -> str:
    search = _call("semantic_search_products", query_description=description, max_rows=10)
    return f"""Find products like "{description}" and tell me how they sell.

1. Call {search}.
2. Turn the period "{period}" into exact dates (get_current_utc_date helps with relative
   periods), fetch the schemas of retail.order_items and retail.orders, and call
   execute_sales_query once for the revenue and units of the returned product_id values
   in that period in my stores (join order_items to orders for order_date).
3. List the products best match first, with similarity, units and revenue; say which
   sell best and whether any similar product does not sell at all.
{GROUNDING}"""


@mcp_server.prompt(
    name="restock_plan",
    title="Restock plan",
    description="What to reorder before it runs out, with quantities and seasonal context.",
)
def restock_plan(
    threshold_days: Annotated[
        int, Field(description="Plan for stock that lasts this many days or less.", ge=1, le=365)
    ] = 14,
    store: StoreArg = "",
    as_of: AsOfArg = "",
) -> str:
    alerts = _call("get_inventory_alerts", threshold_days=threshold_days, store=store, as_of=as_of)
    return f"""Draft a restock plan for {store or "my stores"}.

1. Call {alerts}.
2. For the categories of the flagged products, call get_category_seasonality
   {json.dumps({"category": "<category>"})} to see whether the coming months sell more or
   less than average.
3. For each flagged product suggest an order quantity that covers
   {threshold_days * 2} days at its daily rate, minus current stock, raised when the
   coming months' seasonal index is above 100, and say the rule you used.

Present a table per store: product, stock, units per day, days left, suggested order.
Mark every quantity as an estimate. {GROUNDING}"""
