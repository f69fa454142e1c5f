"""Retail analytics for the caller's stores: the ready answers behind the analytics tools.

Every service reads inside the caller's open tenant context (``retail.tenancy``), as
the tenant role, with fixed SQL and bound parameters, so row-level security decides
what each figure includes. Services return evaluated dataclasses, never lazy queries,
with short insights computed from the same numbers. Charts (``charts``) import
matplotlib and are kept out of this package's namespace so that using a service does
not load it.
"""

from retail.services.analytics.inventory_alerts import InventoryAlertsReport, get_inventory_alerts
from retail.services.analytics.periods import Period, parse_day, parse_period
from retail.services.analytics.sales_trend import SalesTrendReport, get_sales_trend
from retail.services.analytics.seasonality import SeasonalityReport, get_category_seasonality
from retail.services.analytics.store_performance import (
    StorePerformanceReport,
    get_store_performance,
)
from retail.services.analytics.top_products import TopProductsReport, get_top_products

__all__ = [
    "InventoryAlertsReport",
    "Period",
    "SalesTrendReport",
    "SeasonalityReport",
    "StorePerformanceReport",
    "TopProductsReport",
    "get_category_seasonality",
    "get_inventory_alerts",
    "get_sales_trend",
    "get_store_performance",
    "get_top_products",
    "parse_day",
    "parse_period",
]
