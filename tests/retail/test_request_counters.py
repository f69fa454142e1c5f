"""The rate limits' counters count exactly, across connections at once, and forget old windows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from retail.request_counters import TABLE, clear_counters, count_hit

WINDOW = 60


@pytest.fixture(autouse=True)
def no_counters(database):
    clear_counters()
    yield
    clear_counters()


def test_hits_count_up_one_by_one_per_bucket_and_window(database):
    assert [count_hit("token:1", 600) for _ in range(3)] == [1, 2, 3]
    assert count_hit("token:2", 600) == 1  # another bucket
    assert count_hit("token:1", 660) == 1  # the next window


def test_hits_from_many_connections_at_once_are_each_counted_once(database):
    """Eight threads (eight connections) hitting one bucket get 1..N with no repeats."""

    def hit(_: int) -> int:
        try:
            return count_hit("token:busy", 1200)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(hit, range(80)))
    assert sorted(counts) == list(range(1, 81))


def test_a_new_window_sweeps_the_counters_of_earlier_ones(database):
    count_hit("address:10.0.0.1", 0)
    count_hit("address:10.0.0.2", 60)
    count_hit("token:1", 120)  # first hit of a later window
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT bucket, window_start FROM {TABLE}")
        assert cursor.fetchall() == [("token:1", 120)]
