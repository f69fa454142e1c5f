"""Prometheus metrics, and the protected ``/metrics`` view that exposes them.

Under gunicorn every worker is a separate process, so the metrics use
prometheus-client's multiprocess mode: ``zava/gunicorn_conf.py`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before the workers start, each
worker writes its values there, and a scrape answered by any worker adds them all
up. Without that variable (tests, ``manage.py``) the ordinary in-process registry
is used. Either way the metric objects below are the API: for example
``CACHE_HITS.labels(cache="schema").inc()``.

``/metrics`` is not public: it answers only a request carrying
``Authorization: Bearer <ZAVA_METRICS_TOKEN>``, and does not exist (404) when that
setting is empty. A loopback-only rule was rejected because a reverse proxy on the
same host makes every public request look like loopback.
"""

from __future__ import annotations

import hmac
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from infrastructure.credentials import bearer_credential

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

TOOL_CALLS = Counter("zava_tool_calls", "MCP tool calls by tool and outcome.", ["tool", "outcome"])
TOOL_LATENCY = Histogram(
    "zava_tool_duration_seconds",
    "Duration of MCP tool calls, tenant context work included.",
    ["tool"],
    buckets=LATENCY_BUCKETS,
)
QUERY_LATENCY = Histogram(
    "zava_query_duration_seconds",
    "Duration of model-written SQL that reached the database (guard, run, serialise).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
SLOW_QUERIES = Counter(
    "zava_slow_tool_calls", "Tool calls slower than ZAVA_SLOW_QUERY_MS.", ["tool"]
)
GUARD_REFUSALS = Counter(
    "zava_sql_guard_refusals", "Queries the SQL guard refused, by reason.", ["reason"]
)
AUTH_FAILURES = Counter(
    "zava_auth_failures", "Requests refused for a missing or invalid credential.", ["endpoint"]
)
CACHE_HITS = Counter("zava_cache_hits", "Answer cache hits by cache.", ["cache"])
CACHE_MISSES = Counter("zava_cache_misses", "Answer cache misses by cache.", ["cache"])
EMBEDDING_CALLS = Counter(
    "zava_embedding_calls", "Calls to the embedding provider.", ["provider", "outcome"]
)
EMBEDDING_TEXTS = Counter("zava_embedding_texts", "Texts embedded.", ["provider"])
EMBEDDING_LATENCY = Histogram(
    "zava_embedding_duration_seconds",
    "Duration of embedding provider calls.",
    ["provider"],
    buckets=LATENCY_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "zava_http_requests", "HTTP requests by endpoint, method and status.",
    ["endpoint", "method", "status"],
)  # fmt: skip
HTTP_LATENCY = Histogram(
    "zava_http_request_duration_seconds",
    "Duration of HTTP requests by endpoint.",
    ["endpoint"],
    buckets=LATENCY_BUCKETS,
)

# psycopg_pool's get_stats() keys worth exporting. Current values and counters since
# the pool opened alike are gauges summed over live workers ("livesum").
POOL_STATS = {
    "pool_max": "Most connections the pool may open.",
    "pool_size": "Connections open, in use or idle.",
    "pool_available": "Idle connections ready for a request.",
    "requests_waiting": "Requests waiting for a connection now.",
    "requests_num": "Connection requests since the pool opened.",
    "requests_queued": "Requests that had to wait since the pool opened.",
    "requests_wait_ms": "Total time requests waited, in milliseconds.",
    "requests_errors": "Requests that got no connection (timeout, error).",
    "connections_errors": "Failed connection attempts.",
    "connections_lost": "Connections found broken.",
}
POOL_GAUGES = {
    key: Gauge(f"zava_db_pool_{key}", doc, ["alias"], multiprocess_mode="livesum")
    for key, doc in POOL_STATS.items()
}
# Read replicas as the scraped worker's monitor last saw them: retail.replicas sets
# them from a scrape refresher it registers at start-up.
REPLICA_STATE = Gauge(
    "zava_db_replica_state",
    "1 for each read replica's current state (streaming: it serves tenant reads).",
    ["alias", "state"],
    multiprocess_mode="livemostrecent",
)
REPLICA_LAG = Gauge(
    "zava_db_replica_lag_seconds",
    "Upper bound of how far a read replica is behind the primary (NaN: unknown).",
    ["alias"],
    multiprocess_mode="livemostrecent",
)
POOL_ALIASES = ("default", "tenant")
# Refreshing after every request would cost more than it tells.
POOL_REFRESH_SECONDS = 1.0
_pool_refresh_lock = threading.Lock()
_pool_refreshed_at = 0.0


def _open_pools() -> Iterator[tuple[str, Any]]:
    """The psycopg pools this process has opened; none is opened just to report it."""
    for alias in (*POOL_ALIASES, *settings.ZAVA_REPLICA_ALIASES):
        pools = getattr(type(connections[alias]), "_connection_pools", {})
        pool = pools.get(alias)
        if pool is not None:
            yield alias, pool


def refresh_pool_gauges(*, force: bool = True) -> None:
    """Copy this process's pool statistics into the pool gauges."""
    global _pool_refreshed_at
    now = time.monotonic()
    if not force and now - _pool_refreshed_at < POOL_REFRESH_SECONDS:
        return
    if not _pool_refresh_lock.acquire(blocking=force):
        return
    try:
        _pool_refreshed_at = now
        for alias, pool in _open_pools():
            stats = pool.get_stats()
            for key, gauge in POOL_GAUGES.items():
                gauge.labels(alias=alias).set(stats.get(key, 0))
    finally:
        _pool_refresh_lock.release()


def refresh_pool_gauges_after_request(**_: Any) -> None:
    """``request_finished`` receiver: the request's connection is back in its pool."""
    refresh_pool_gauges(force=False)


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


_scrape_refreshers: list[Callable[[], None]] = []


def refresh_before_scrape(refresher: Callable[[], None]) -> None:
    """Have ``refresher`` bring its gauges up to date before every scrape.

    The layers above register theirs from ``AppConfig.ready()`` (the replica gauges,
    for one), so this module never imports them. Registering twice counts once.
    """
    if refresher not in _scrape_refreshers:
        _scrape_refreshers.append(refresher)


def exposition() -> bytes:
    """All metrics in Prometheus text format, summed over workers when there are several."""
    refresh_pool_gauges()
    for refresher in _scrape_refreshers:
        refresher()
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def metrics_credential_ok(request: HttpRequest, expected: str) -> bool:
    given = bearer_credential(request)
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics`` for a scraper holding ZAVA_METRICS_TOKEN."""
    expected = settings.ZAVA_METRICS_TOKEN
    if not expected:
        raise Http404  # metrics are off until a secret is configured
    if not metrics_credential_ok(request, expected):
        AUTH_FAILURES.labels(endpoint="metrics").inc()
        response = HttpResponse(status=401)
        response["WWW-Authenticate"] = 'Bearer realm="zava-metrics"'
        return response
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
