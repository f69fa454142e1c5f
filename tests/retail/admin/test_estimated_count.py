"""The audit list at size: PostgreSQL's estimate instead of ``count(*)``, exact when small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from retail.admin.estimated_count import EXACT_COUNT_LIMIT, EstimatedCountPaginator
from retail.models import AuditedRequest

TOOL = "estimate-test"
ROWS = 30_000
CHANGELIST = reverse("admin:retail_auditedrequest_changelist")


def _counts(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]


def _audit_rows(created_at: str) -> Iterator[None]:
    """ROWS audit rows created at the SQL expression ``created_at`` of ``n`` (1 to ROWS),
    with fresh statistics; removed (and the table vacuumed) after."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            f"created_at) SELECT %s, '{{}}', 'ok', '', '', {created_at} "
            "FROM generate_series(1, %s) AS n",
            [TOOL, ROWS],
        )
        cursor.execute("ANALYZE audit_requests")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_requests WHERE tool = %s", [TOOL])
        cursor.execute("VACUUM ANALYZE audit_requests")


@pytest.fixture
def many_calls(database):
    """ROWS audit rows, a second apart up to now."""
    yield from _audit_rows("now() - n * interval '1 second'")


def test_a_large_result_is_estimated_not_counted(many_calls):
    exact = AuditedRequest.objects.count()
    with CaptureQueriesContext(connection) as queries:
        estimate = EstimatedCountPaginator(AuditedRequest.objects.all(), 100).count
    assert _counts(queries) == []
    assert abs(estimate - exact) <= exact * 0.1


@pytest.fixture
def calls_across_months(database):
    """ROWS audit rows in this month's partition, the next two and the default one."""
    yield from _audit_rows(
        "date_trunc('month', now()) + interval '1 day' + (n %% 4) * interval '1 month' "
        "+ (n %% 4 / 3) * interval '10 years'"
    )


def test_the_estimate_adds_up_the_partitions_of_the_audit(calls_across_months):
    """The plan's estimate is the sum of each partition's statistics, not the parent's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(DISTINCT tableoid) FROM audit_requests WHERE tool = %s", [TOOL]
        )
        assert cursor.fetchone()[0] == 4
    exact = AuditedRequest.objects.count()
    with CaptureQueriesContext(connection) as queries:
        estimate = EstimatedCountPaginator(AuditedRequest.objects.all(), 100).count
    assert _counts(queries) == []
    assert abs(estimate - exact) <= exact * 0.1


def test_a_small_result_is_counted_exactly(many_calls):
    small = AuditedRequest.objects.filter(tool="no-such-tool")
    paginator = EstimatedCountPaginator(small, 100)
    assert paginator.count == small.count() < EXACT_COUNT_LIMIT


def test_the_audit_changelist_counts_no_rows_at_size(staff_client, many_calls):
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(CHANGELIST)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= ROWS * 0.9
    assert response.context["cl"].full_result_count is None
    assert not [sql for sql in _counts(queries) if "audit_requests" in sql]
