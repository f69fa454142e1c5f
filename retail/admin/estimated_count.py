"""Admin lists of very large tables without ``SELECT count(*)`` on every page.

Counting every row of a table with tens of millions of rows (the audit) reads all of
them. Past ``EXACT_COUNT_LIMIT`` rows the paginator takes PostgreSQL's own estimate
instead, from the plan of the very query the page runs (``EXPLAIN``), which scales
the table's statistics (``pg_class.reltuples``, summed over the partitions of a
partitioned table such as the audit) to its current size and applies the
list's filters. Small results are still counted exactly.
"""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_COUNT_LIMIT = 10_000


def planner_estimate(queryset: QuerySet) -> int:
    """The number of rows PostgreSQL expects ``queryset`` to return, without running it."""
    sql, params = queryset.order_by().query.sql_with_params()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Django's paginator, with PostgreSQL's estimate as the count of large results."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            estimate = planner_estimate(self.object_list)
            if estimate >= EXACT_COUNT_LIMIT:
                return estimate
        return super().count


class EstimatedCountAdminMixin:
    """For a ModelAdmin of a huge table: estimated counts, and no unfiltered total."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False  # else the changelist counts the whole table as well
