"""Running a guard-checked SELECT for the caller, with the configured caps and caching."""

from __future__ import annotations

from django.conf import settings

from retail.services.answer_cache import cached, is_cacheable_query
from retail.tenant_queries import QueryResult, run_select


def run_sales_query(sql: str) -> QueryResult:
    def run() -> QueryResult:
        return run_select(
            sql, max_rows=settings.ZAVA_MAX_ROWS, max_bytes=settings.ZAVA_MAX_RESULT_BYTES
        )

    if not is_cacheable_query(sql):
        return run()
    return cached("query", sql, run)
