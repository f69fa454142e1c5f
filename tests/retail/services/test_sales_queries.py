"""``run_sales_query``: the configured caps, and the cache for all but clock readers."""

from __future__ import annotations

import pytest

from retail.services import sales_queries
from retail.services.sales_queries import run_sales_query
from retail.tenancy import QueryResult, run_as_tenant
from tests.identities import SEATTLE

QUESTION = "SELECT order_id FROM retail.orders ORDER BY order_id"


pytestmark = pytest.mark.usefixtures("empty_cache")  # every test starts with no answer


def _run(sql: str = QUESTION, *, reads_clock: bool = False) -> QueryResult:
    return run_as_tenant(SEATTLE.id, lambda: run_sales_query(sql, reads_clock=reads_clock))


def test_the_row_and_byte_caps_are_the_settings(settings):
    settings.ZAVA_MAX_ROWS = 3
    capped = _run()
    assert len(capped.rows) == 3
    assert capped.truncated_by == "rows"
    settings.ZAVA_MAX_ROWS = 1_000
    settings.ZAVA_MAX_RESULT_BYTES = 200
    assert _run("SELECT order_id, order_date FROM retail.orders").truncated_by == "bytes"


def test_a_repeat_comes_from_the_cache_and_says_so():
    first, second = _run(), _run()
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.rows == first.rows


def test_an_answer_that_reads_the_clock_always_runs(monkeypatch):
    runs = []
    real = sales_queries.run_select
    monkeypatch.setattr(
        sales_queries, "run_select", lambda *a, **k: runs.append(a) or real(*a, **k)
    )
    answers = [_run("SELECT now() AS at", reads_clock=True) for _ in range(2)]
    assert len(runs) == 2
    assert not any(answer.from_cache for answer in answers)
    assert answers[0].rows != answers[1].rows  # two transactions, two clocks
