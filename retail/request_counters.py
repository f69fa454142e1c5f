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

# The first hit of a bucket's window also deletes every counter of earlier windows, in
# the same statement, so the table holds about one row per bucket active this minute.
_HIT_SQL = f"""
WITH hit AS (
    INSERT INTO {TABLE} AS c (bucket, window_start, hits) VALUES (%(bucket)s, %(window)s, 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING hits
), swept AS (
    DELETE FROM {TABLE} WHERE window_start < %(window)s AND (SELECT hits FROM hit) = 1
)
SELECT hits FROM hit
"""


def count_hit(bucket: str, window_start: int) -> int:
    """Add one to ``bucket``'s counter for the window starting at ``window_start``."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_HIT_SQL, {"bucket": bucket, "window": window_start})
        return cursor.fetchone()[0]


def clear_counters() -> None:
    """Forget every count (tests start from zero)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
