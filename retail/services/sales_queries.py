"""Running a guard-checked SELECT for the caller, with the configured caps and caching."""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings

from retail.services.answer_cache import lookup
from retail.tenancy import QueryResult, run_select


def run_sales_query(sql: str, *, reads_clock: bool) -> QueryResult:
    """Rows of ``sql`` (already accepted by the guard) as the caller sees them.

    An answer that depends on when it runs (``reads_clock``, which the guard's parse
    tells) is never cached; any other comes from the caller's cache when it can.
    """

    def run() -> QueryResult:
        return run_select(
            sql, max_rows=settings.ZAVA_MAX_ROWS, max_bytes=settings.ZAVA_MAX_RESULT_BYTES
        )

    if reads_clock:
        return run()
    result, hit = lookup("query", sql, run)
    return replace(result, from_cache=hit)
