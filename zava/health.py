"""Health endpoints for load balancers and orchestrators; unauthenticated, cheap.

``/health/live``: the process answers (no database), so a stuck database never gets
the process restarted. ``/health/ready``: this process can serve tool calls; 503
otherwise, naming the failing check. With read replicas, it also reports each one's
state and lag (a replica that is down does not make the process unready: reads
go to the primary). Answers say which check failed and nothing else: no hosts,
roles, versions or exception text.

Readiness is computed at most once a second per process, so a flood of probes costs
the database no more than one probe a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from retail.readiness import ProbeResult, readiness, replica_report

CACHE_SECONDS = 1.0

_lock = threading.Lock()
_cached: tuple[float, list[ProbeResult]] | None = None


def _readiness() -> list[ProbeResult]:
    global _cached
    with _lock:
        if _cached is not None and time.monotonic() - _cached[0] < CACHE_SECONDS:
            return _cached[1]
        results = readiness()
        _cached = (time.monotonic(), results)
        return results


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    results = _readiness()
    checks: dict[str, Any] = {}
    for result in results:
        checks[result.name] = {"ok": True} if result.ok else {"ok": False, "error": result.detail}
    ok = all(result.ok for result in results)
    failing = [result.name for result in results if not result.ok]
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    replicas = replica_report()
    if replicas:
        body["replicas"] = replicas
    return JsonResponse(body, status=200 if ok else 503)
