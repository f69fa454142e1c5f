"""Cached tool answers, never shared between identities.

A key holds the caller's identity, the set of stores the policies give it right now,
and the data version that seeding bumps; so a changed mapping, a re-seed or another
manager never meets an old answer. Only successful answers are cached, for
``ZAVA_CACHE_SECONDS``, in Django's cache (the shared database cache, or Redis via
CACHE_URL).
"""

from __future__ import annotations

import hashlib
import logging
import pickle
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache

from infrastructure.observability import metrics
from retail.tenancy import require_context, tenant_cursor

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Django's cache key version for answers. Answers are pickled, so raise it when the
# class of a cached answer moves or changes shape: releases running side by side (a
# rolling deploy) then never read each other's entries. 2: QueryResult moved from
# retail.tenant_queries to retail.tenancy.queries.
ANSWER_FORMAT = 2


def scope_key() -> str:
    """Identity, visible stores and data version of the open tenant context.

    The version is read where the data is (a read replica, when the context runs on
    one) and before it: a replica that lags behind a re-seed labels its answers with
    the version it has, never with the newer one of the primary.
    """
    context = require_context()
    if context.cache_scope is not None:  # one read per tenant transaction
        return context.cache_scope
    with tenant_cursor() as cursor:
        cursor.execute("SELECT retail.visible_store_ids(), retail.data_version()")
        row = cursor.fetchone()
    assert row is not None  # a SELECT without FROM always gives one row
    stores, version = row
    context.cache_scope = f"{context.manager_id}|{','.join(map(str, stores))}|{version}"
    return context.cache_scope


def cached(kind: str, question: str, produce: Callable[[], T]) -> T:
    """``produce()``'s answer to ``question``, cached for this caller's scope."""
    return lookup(kind, question, produce)[0]


def lookup(kind: str, question: str, produce: Callable[[], T]) -> tuple[T, bool]:
    """``produce()``'s answer to ``question`` for this caller's scope, and whether it
    came from the cache."""
    seconds = settings.ZAVA_CACHE_SECONDS
    if seconds <= 0:
        return produce(), False
    # surrogatepass: a question is any text, and this encoding of it is one-to-one.
    question_bytes = f"{scope_key()}\n{question}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(question_bytes).hexdigest()
    key = f"answer:{kind}:{digest}"
    try:
        answer = cache.get(key, version=ANSWER_FORMAT)
    except (ImportError, AttributeError, pickle.UnpicklingError):
        # Pickled under a class that has since moved, with ANSWER_FORMAT not raised:
        # a miss, and the entry is written again below in today's form.
        logger.warning("unreadable %s answer in the cache; answering afresh", kind)
        answer = None
    if answer is not None:
        metrics.CACHE_HITS.labels(cache=kind).inc()
        return answer, True
    answer = produce()
    cache.set(key, answer, seconds, version=ANSWER_FORMAT)
    metrics.CACHE_MISSES.labels(cache=kind).inc()
    return answer, False
