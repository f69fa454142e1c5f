"""Request limits: per token, and per client address for failed logins and OAuth forms.

Fixed one-minute windows, counted where every worker and host sees them. While the
cache is the database (the default) the counters are a PostgreSQL table: one atomic
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` per hit, a single round trip that
counts exactly under concurrency (two workers counting the same bucket at once get
consecutive values). A token's hit rides in the statement that looks the token up
(:func:`counted_lookup`), so authenticating and counting cost one round trip, not two.
Django's database cache needs a dozen statements and a
transaction for the same add-then-increment, and can miss counts. When ``CACHE_URL``
points at Redis or another shared cache, the counters are there (atomic ``INCR``).

The table (migration 0011) is unlogged and readable by the owner role only: a crash
resets the counters of the current minute, nothing else. Over a limit, the verdict
says how long to wait; the transport turns it into a 429 with ``Retry-After``.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DEFAULT_DB_ALIAS, connections

WINDOW_SECONDS = 60
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


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


TOKEN_BUCKET_PREFIX = "token:"  # noqa: S105 (a counter bucket name, not a secret)


def check_token(token_id: int | str) -> Verdict:
    """Counts one request with this token; refuses past ``ZAVA_RATE_LIMIT_PER_MINUTE``."""
    return _hit(f"{TOKEN_BUCKET_PREFIX}{token_id}", settings.ZAVA_RATE_LIMIT_PER_MINUTE)


def check_failed_auth(address: str) -> Verdict:
    """Counts a failed authentication from ``address``; refuses once there are too many."""
    return check_address(address, "auth-failures", settings.ZAVA_AUTH_FAILURES_PER_MINUTE)


def check_address(address: str, bucket: str, limit: int) -> Verdict:
    """Counts one request from ``address`` in ``bucket``; refuses past ``limit`` a minute."""
    return _hit(f"{bucket}:{address}", limit)


def _hit(bucket: str, limit: int) -> Verdict:
    if limit <= 0:
        return Verdict(True)  # 0 turns the limit off
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    shared = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(shared, DatabaseCache):
        count = count_hit(bucket, window * WINDOW_SECONDS)
    else:
        count = count_cache_hit(shared, f"ratelimit:{bucket}:{window}")
    return _verdict(count, limit, window, now)


def counted_lookup(
    lookup_sql: str, params: dict[str, Any], bucket_prefix: str, limit: int
) -> tuple[tuple | None, Verdict]:
    """Run ``lookup_sql`` and count a hit for the row it finds, in one round trip.

    ``lookup_sql`` finds at most one row, whose first column, ``bucket_key``, names the
    bucket with ``bucket_prefix`` (a token's id, say). While the counters are in the
    database, the lookup and the upsert are one statement; otherwise (Redis, or the
    limit off) the lookup runs alone and the hit is counted as :func:`_hit` does. No
    row, no hit: the verdict is then an allowance, and the caller decides.
    """
    shared = caches[DEFAULT_CACHE_ALIAS]
    if limit <= 0 or not isinstance(shared, DatabaseCache):
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(lookup_sql, params)
            row = cursor.fetchone()
        verdict = _hit(f"{bucket_prefix}{row[0]}", limit) if row else Verdict(True)
        return row, verdict
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    statement = _counting(lookup_sql)
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            statement, {**params, "_prefix": bucket_prefix, "_window": window * WINDOW_SECONDS}
        )
        found = cursor.fetchone()
    if found is None:
        return None, Verdict(True)
    return tuple(found[:-1]), _verdict(found[-1], limit, window, now)


@functools.cache
def _counting(lookup_sql: str) -> str:
    """``lookup_sql`` with the counter's upsert (and the sweep of old windows) around it;
    built once per lookup, not per request."""
    return f"""
WITH found AS MATERIALIZED ({lookup_sql}), hit AS (
    INSERT INTO {TABLE} AS c (bucket, window_start, hits)
    SELECT %(_prefix)s || found.bucket_key, %(_window)s, 1 FROM found
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + 1
    RETURNING hits
), swept AS (
    DELETE FROM {TABLE} WHERE window_start < %(_window)s AND (SELECT hits FROM hit) = 1
)
SELECT found.*, (SELECT hits FROM hit) FROM found
"""


def _verdict(count: int, limit: int, window: int, now: float) -> Verdict:
    if count <= limit:
        return Verdict(True)
    return Verdict(False, retry_after=max(1, int((window + 1) * WINDOW_SECONDS - now) + 1))


def count_hit(bucket: str, window_start: int) -> int:
    """Add one to ``bucket``'s counter in the table for the window at ``window_start``."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_HIT_SQL, {"bucket": bucket, "window": window_start})
        return cursor.fetchone()[0]


def count_cache_hit(counters: BaseCache, key: str) -> int:
    """Add one to the cache's counter ``key`` of the current window and return its value."""
    counters.add(key, 0, WINDOW_SECONDS + 5)
    try:
        return counters.incr(key)
    except ValueError:  # expired between add and incr
        counters.add(key, 1, WINDOW_SECONDS + 5)
        return 1
