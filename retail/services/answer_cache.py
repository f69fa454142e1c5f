"""Cached tool answers, never shared between identities.

A key holds the caller's identity, the set of stores the policies give it right now,
and the data version that seeding bumps; so a changed mapping, a re-seed or another
manager never meets an old answer. Only successful answers are cached, for
``ZAVA_CACHE_SECONDS``, in Django's cache (the shared database cache, or Redis via
CACHE_URL).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from retail.tenancy import require_context
from retail.tenant_queries import tenant_cursor

T = TypeVar("T")

# Queries whose answer depends on the clock or chance are not cached.
VOLATILE = re.compile(
    r"\b(now|random|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|"
    r"current_date|current_time|current_timestamp|localtime|localtimestamp|age)\b",
    re.IGNORECASE,
)


def scope_key() -> str:
    """Identity, visible stores and data version of the open tenant context.

    The version is read where the data is (a read replica, when the context runs on
    one) and before it: a replica that lags behind a re-seed labels its answers with
    the version it has, never with the newer one of the primary.
    """
    context = require_context()
    connection = context.connection
    memo = getattr(connection, "zava_cache_scope", None)
    if memo is not None and memo[0] is context:
        return memo[1]
    with tenant_cursor() as cursor:
        cursor.execute("SELECT retail.visible_store_ids(), retail.data_version()")
        row = cursor.fetchone()
    assert row is not None  # a SELECT without FROM always gives one row
    stores, version = row
    scope = f"{context.manager_id}|{','.join(map(str, stores))}|{version}"
    connection.zava_cache_scope = (context, scope)
    return scope


def cached(kind: str, question: str, produce: Callable[[], T]) -> T:
    """``produce()``'s answer to ``question``, cached for this caller's scope."""
    seconds = settings.ZAVA_CACHE_SECONDS
    if seconds <= 0:
        return produce()
    # surrogatepass: a question is any text, and this encoding of it is one-to-one.
    question_bytes = f"{scope_key()}\n{question}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(question_bytes).hexdigest()
    key = f"answer:{kind}:{digest}"
    answer = cache.get(key)
    if answer is not None:
        _count(kind, hit=True)
        return answer
    answer = produce()
    cache.set(key, answer, seconds)
    _count(kind, hit=False)
    return answer


def is_cacheable_query(sql: str) -> bool:
    return VOLATILE.search(sql) is None


def _count(kind: str, *, hit: bool) -> None:
    """Cache hits and misses for /metrics, when the metrics module is present."""
    try:
        from zava.observability import metrics
    except ImportError:
        return
    counter = metrics.CACHE_HITS if hit else metrics.CACHE_MISSES
    counter.labels(cache=kind).inc()
