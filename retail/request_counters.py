"""Per-window request counters in PostgreSQL, for the rate limits.

One atomic ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit: a single round trip
that every worker and host sees, and that counts exactly under concurrency (two
workers counting the same bucket at once get consecutive values). Django's database
cache needs a dozen statements and a transaction for the same add-then-increment, and
can miss counts; this table is what the limits use while the cache is the database.

The table (migration 0011) is unlogged and readable by the owner role only: a crash
resets the counters of the current minute, nothing else.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

TABLE = "zava_request_counters"

_HIT_SQL = f"""
INSERT INTO {TABLE} AS c (bucket, window_start, hits) VALUES (%s, %s, 1)
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + 1
RETURNING hits
"""
_SWEEP_SQL = f"DELETE FROM {TABLE} WHERE window_start < %s"


def count_hit(bucket: str, window_start: int) -> int:
    """Add one to ``bucket``'s counter for the window starting at ``window_start``.

    The first hit of a window also deletes every counter of earlier windows, so the
    table holds about one row per bucket active in the last minute.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_HIT_SQL, [bucket, window_start])
        hits = cursor.fetchone()[0]
        if hits == 1:
            cursor.execute(_SWEEP_SQL, [window_start])
    return hits


def clear_counters() -> None:
    """Forget every count (tests, and operators who lifted a limit)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
