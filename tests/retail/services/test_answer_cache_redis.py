"""The same guarantees with a real Redis behind CACHE_URL, shared between processes."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import cache
from django.test import Client, override_settings

from retail.services.sales_queries import run_sales_query
from retail.services.seeding import STORES
from retail.tenancy import run_as_tenant
from tests.identities import SEATTLE

QUESTION = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_cache(redis_url):
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": redis_url}}  # fmt: skip
    with override_settings(CACHES=caches):
        cache.clear()
        yield redis.Redis.from_url(redis_url)
        cache.clear()


def test_answers_cached_in_redis_stay_with_their_identity(database, redis_cache):
    answers = {}
    for store in STORES[:2]:
        answers[store.name] = run_as_tenant(
            store.manager_id, lambda: run_sales_query(QUESTION, reads_clock=False).rows
        )
    assert answers == {STORES[0].name: [[1]], STORES[1].name: [[2]]}
    assert len(redis_cache.keys("*answer:query:*")) == 2
    again = run_as_tenant(
        STORES[0].manager_id, lambda: run_sales_query(QUESTION, reads_clock=False)
    )
    assert again.rows == [[1]]


def test_rate_limits_count_in_redis(database, redis_cache, tokens, settings, rate_limit_clock):
    settings.ZAVA_RATE_LIMIT_PER_MINUTE = 2
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"Authorization": f"Bearer {tokens[SEATTLE.email]}", "Accept": "application/json"}
    statuses = [
        Client().post("/mcp", ping, content_type="application/json", headers=headers).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert redis_cache.keys("*ratelimit:token:*")
