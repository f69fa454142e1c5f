"""Cached answers are scoped to one identity, its stores and the data version."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.db import connection

from mcp_tools.sql_guard import check_query
from retail.models import ManagerStore
from retail.services.answer_cache import ANSWER_FORMAT, cached, lookup
from retail.services.sales_queries import run_sales_query
from retail.tenancy import run_as_tenant
from tests.identities import BELLEVUE, EASTERN_ONLINE, SEATTLE

QUESTION = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"


pytestmark = pytest.mark.usefixtures("empty_cache")  # every test starts with no answer


def _answer(manager_id, sql: str = QUESTION):
    checked = check_query(sql)  # the guard's parse says whether the answer may be cached
    answer = run_as_tenant(
        manager_id, lambda: run_sales_query(checked.sql, reads_clock=checked.reads_clock)
    )
    return answer.rows


def _answer_keys(kind: str = "query") -> set[str]:
    """The answers of ``kind`` in the cache: rows of the database cache's table."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT cache_key FROM {cache._table} WHERE cache_key LIKE %s AND expires > now()",
            [f"%:answer:{kind}:%"],
        )
        return {key for (key,) in cursor.fetchall()}


def test_two_managers_asking_the_same_question_get_their_own_answers(database):
    assert _answer(SEATTLE.id) == [[1]]
    assert _answer(BELLEVUE.id) == [[2]]
    assert len(_answer_keys()) == 2
    assert _answer(SEATTLE.id) == [[1]]  # served from the cache, still Seattle's
    assert len(_answer_keys()) == 2


def test_a_repeated_question_is_answered_from_the_cache(database, monkeypatch):
    assert _answer(SEATTLE.id) == [[1]]
    calls = []
    monkeypatch.setattr("retail.services.sales_queries.run_select", lambda *a, **k: calls.append(a))
    assert _answer(SEATTLE.id) == [[1]]
    assert calls == []


def test_a_changed_mapping_is_a_new_scope(database):
    assert _answer(EASTERN_ONLINE.id) == [[4], [8]]
    mapping = ManagerStore.objects.get(manager_id=EASTERN_ONLINE.id, store__store_id=8)
    mapping.delete()
    try:
        assert _answer(EASTERN_ONLINE.id) == [[4]]
    finally:
        ManagerStore.objects.create(manager_id=EASTERN_ONLINE.id, store_id=8)
    assert _answer(EASTERN_ONLINE.id) == [[4], [8]]


def test_a_new_data_version_is_a_new_scope(database):
    _answer(SEATTLE.id)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE zava_private.data_version SET version = version + 1")
    _answer(SEATTLE.id)
    assert len(_answer_keys()) == 2


@pytest.mark.parametrize(
    "condition",
    [
        "order_date < current_date",
        "order_date < now()",
        "order_date < pg_catalog.clock_timestamp()",
        "age(order_date) < interval '30 days'",
        "order_date < 'today'::date",
        "order_date < ' NOW '::timestamptz",
        "order_date < localtimestamp",
    ],
)
def test_clock_dependent_queries_are_not_cached(database, condition):
    _answer(SEATTLE.id, f"SELECT count(*) FROM retail.orders WHERE {condition}")
    assert _answer_keys() == set()


def test_a_query_that_only_mentions_a_date_is_cached(database):
    _answer(SEATTLE.id, "SELECT count(*) FROM retail.orders WHERE order_date < '2025-01-01'")
    assert len(_answer_keys()) == 1


def test_caching_can_be_turned_off(database, settings):
    settings.ZAVA_CACHE_SECONDS = 0
    _answer(SEATTLE.id)
    assert _answer_keys() == set()


def test_any_question_text_makes_a_key_lone_surrogates_included(database):
    """A question is whatever a client sent; its key never fails to encode, and two
    questions apart by one surrogate are two keys."""

    def three_questions() -> tuple[list[str], ...]:
        first = cached("probe", "typed \ud800", lambda: ["first"])
        second = cached("probe", "typed \udfff", lambda: ["second"])
        again = cached("probe", "typed \ud800", lambda: ["not produced"])
        return first, second, again

    first, second, again = run_as_tenant(SEATTLE.id, three_questions)
    assert (first, second, again) == (["first"], ["second"], ["first"])


def test_an_answer_pickled_by_an_older_release_is_a_miss_not_a_failure(database, monkeypatch):
    """Answers are pickled; when the class of a cached answer has moved and nobody
    raised ANSWER_FORMAT, reading it is a miss, answered and cached again, not an
    internal error for every caller until the entry expires."""
    moved = types.ModuleType("zava_moved_away")

    @dataclass
    class OldAnswer:
        rows: list

    OldAnswer.__module__, OldAnswer.__qualname__ = "zava_moved_away", "OldAnswer"
    moved.OldAnswer = OldAnswer
    monkeypatch.setitem(sys.modules, "zava_moved_away", moved)

    def ask(produce):
        return run_as_tenant(SEATTLE.id, lambda: lookup("probe", "moved?", produce))

    assert ask(lambda: OldAnswer([1])) == (OldAnswer([1]), False)
    monkeypatch.delitem(sys.modules, "zava_moved_away")  # the new release has no such module

    assert ask(lambda: ["fresh"]) == (["fresh"], False)
    assert ask(lambda: ["not produced"]) == (["fresh"], True)


def test_an_answer_cached_under_another_format_is_not_read(database):
    """Same question, same scope, but cached by a release with another ANSWER_FORMAT
    (a rolling deploy): this release answers afresh instead of unpickling it."""

    def ask(produce):
        return run_as_tenant(SEATTLE.id, lambda: lookup("probe", "format?", produce))

    assert ask(lambda: ["first"]) == (["first"], False)
    (key,) = _answer_keys("probe")
    _, version, name = key.split(":", 2)
    assert int(version) == ANSWER_FORMAT
    cache.delete(name, version=ANSWER_FORMAT)
    cache.set(name, ["an older release's"], 300, version=ANSWER_FORMAT - 1)
    assert ask(lambda: ["fresh"]) == (["fresh"], False)
