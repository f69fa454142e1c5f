"""Suggestions for what a manager types into an argument: store names, categories,
product types, periods and metrics.

Every suggestion comes from data the caller may see, read in the caller's tenant
context: a store manager is offered their own store only (``visible_stores``, which
row-level security answers), periods include only the years the caller's own orders
cover. Per-caller values are cached like answers (:mod:`retail.services.answer_cache`),
since clients ask again on every keystroke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from retail.errors import InvalidInput
from retail.services.analytics.queries import fetch
from retail.services.analytics.scope import short_store_name, visible_stores
from retail.services.answer_cache import cached
from retail.services.catalogue import category_names, product_type_names

MAX_SUGGESTIONS = 100  # the MCP spec's limit per completion answer
MAX_PREFIX = 100
RELATIVE_PERIODS = (
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "last_week",
    "last_month",
    "last_quarter",
    "last_year",
    "this_week",
    "this_month",
    "this_quarter",
    "this_year",
)
METRICS = ("revenue", "orders", "units", "average_order_value", "gross_margin")


class Suggest(StrEnum):
    """What kind of value an argument takes."""

    STORE = "store"
    CATEGORY = "category"
    PRODUCT_TYPE = "product_type"
    PERIOD = "period"
    METRIC = "metric"


@dataclass(frozen=True)
class Suggestions:
    values: list[str]
    total: int

    @property
    def has_more(self) -> bool:
        return self.total > len(self.values)


def suggest(kind: Suggest, typed: str, *, category: str | None = None) -> Suggestions:
    """The values of ``kind`` that match what was typed so far, best first.

    A value matches when it, or one of its words, starts with ``typed`` (any case):
    "Se" finds "Seattle", "out" finds "Garden & Outdoor". ``category`` narrows product
    types to one category (the value already chosen for a resource's other argument).
    """
    values = _candidates(kind, category)
    prefix = typed.strip().lower()[:MAX_PREFIX]
    starts = [value for value in values if value.lower().startswith(prefix)]
    inside = [
        value
        for value in values
        if value not in starts
        and any(word.startswith(prefix) for word in value.lower().replace("_", " ").split())
    ]
    matched = starts + inside
    return Suggestions(values=matched[:MAX_SUGGESTIONS], total=len(matched))


def _candidates(kind: Suggest, category: str | None) -> list[str]:
    if kind is Suggest.METRIC:
        return list(METRICS)
    if kind is Suggest.PRODUCT_TYPE:
        question = f"{kind}\n{(category or '').strip().lower()}"
        return cached("completions", question, lambda: _product_types(category))
    readers: dict[Suggest, Callable[[], list[str]]] = {
        Suggest.STORE: _store_names,
        Suggest.CATEGORY: category_names,
        Suggest.PERIOD: _periods,
    }
    return cached("completions", str(kind), readers[kind])


def _product_types(category: str | None) -> list[str]:
    """The category's types; all types while the category is not (yet) a valid one."""
    try:
        return product_type_names(category)
    except InvalidInput:
        return product_type_names()


def _store_names() -> list[str]:
    """The caller's stores as managers name them ('Seattle'), which tools accept too."""
    return [short_store_name(store.store_name) for store in visible_stores()]


def _periods() -> list[str]:
    """Relative periods, then the years of the caller's orders, newest first."""
    years = [str(row["year"]) for row in fetch(_YEARS_SQL)]
    return [*RELATIVE_PERIODS, *years]


_YEARS_SQL = (
    "SELECT DISTINCT extract(year FROM order_date)::int AS year FROM retail.orders "
    "ORDER BY year DESC"
)
