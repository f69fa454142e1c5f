"""Per-token request limits, and a limit on failed authentication per client address.

Fixed one-minute windows, counted where every worker and host sees them: in
PostgreSQL (:mod:`retail.request_counters`, one atomic upsert per request) while the
cache is the database, which is the default; in the cache when ``CACHE_URL`` points at
Redis (atomic ``INCR``) or another shared cache. Over the limit, the client gets 429
with ``Retry-After``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.http import HttpRequest, HttpResponse

from retail import request_counters

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0


def _hit(bucket: str, limit: int) -> Verdict:
    if limit <= 0:
        return Verdict(True)  # 0 turns the limit off
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    shared = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(shared, DatabaseCache):
        count = request_counters.count_hit(bucket, window * WINDOW_SECONDS)
    else:
        count = count_hit(shared, f"ratelimit:{bucket}:{window}")
    if count <= limit:
        return Verdict(True)
    return Verdict(False, retry_after=max(1, int((window + 1) * WINDOW_SECONDS - now) + 1))


def count_hit(counters: BaseCache, key: str) -> int:
    """Add one to the counter ``key`` of the current window and return its value."""
    counters.add(key, 0, WINDOW_SECONDS + 5)
    try:
        return counters.incr(key)
    except ValueError:  # expired between add and incr
        counters.add(key, 1, WINDOW_SECONDS + 5)
        return 1


def check_token(token_id: int | str) -> Verdict:
    return _hit(f"token:{token_id}", settings.ZAVA_RATE_LIMIT_PER_MINUTE)


def check_failed_auth(request: HttpRequest) -> Verdict:
    """Counts a failed authentication from this address; refuses once there are too many."""
    return check_address(request, "auth-failures", settings.ZAVA_AUTH_FAILURES_PER_MINUTE)


def check_address(request: HttpRequest, bucket: str, limit: int) -> Verdict:
    """Counts one request from this address in ``bucket``; refuses past ``limit`` a minute."""
    return _hit(f"{bucket}:{request.META.get('REMOTE_ADDR', 'unknown')}", limit)


def too_many_requests(verdict: Verdict) -> HttpResponse:
    response = HttpResponse(status=429, headers={"Content-Length": "0"})
    response["Retry-After"] = str(verdict.retry_after)
    return response
