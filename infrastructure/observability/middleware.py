"""One log line and one set of HTTP metrics per request, with a request id.

Runs outermost, so redirects, 401s, 429s and 503s from the middleware below are
logged too. The request id is always generated here, never taken from the client, and
``McpAuthMiddleware`` (and the audit row) use the same one; it is sent back in
``X-Request-ID``. A well-formed ``X-Request-ID`` from the client is kept apart, as
``client_request_id`` in the log line and the audit row, and echoed in
``X-Client-Request-ID``. Health probes and scrapes are logged at DEBUG: orchestrators call
them every few seconds and would drown the real traffic.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from typing import cast

from django.http import HttpRequest, HttpResponse

from infrastructure.credentials import TOKEN_PATTERN
from infrastructure.observability import metrics
from infrastructure.observability.logs import request_id_var

logger = logging.getLogger("zava.http")

# The ids a client may send for its own correlation.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
QUIET_ENDPOINTS = frozenset({"health", "metrics"})


def endpoint_of(path: str) -> str:
    """A small, fixed set of metric labels, whatever paths clients make up."""
    first = path.strip("/").split("/", 1)[0]
    return first if first in {"mcp", "health", "metrics", "admin", "static"} else "other"


def client_request_id_of(request: HttpRequest) -> str:
    """The client's X-Request-ID when well formed, else empty: recorded, never trusted.

    A token pasted as a request id must not reach the logs or the audit table.
    """
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if REQUEST_ID.match(given) and not TOKEN_PATTERN.search(given) else ""


class IdentifiedRequest(HttpRequest):
    """A request once :class:`RequestLogMiddleware` has given it its ids.

    Only a type: the object is Django's own request, as ``request.user`` is an
    attribute that Django's middleware adds to it.
    """

    zava_request_id: str
    zava_client_request_id: str


def identified(request: HttpRequest) -> IdentifiedRequest:
    """``request`` as the type that names the attributes the middleware sets on it."""
    return cast(IdentifiedRequest, request)


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id, client_request_id = uuid.uuid4().hex, client_request_id_of(request)
        ids = identified(request)
        ids.zava_request_id, ids.zava_client_request_id = request_id, client_request_id
        reset = request_id_var.set(request_id)
        started = time.perf_counter()
        response: HttpResponse | None = None
        try:
            response = self.get_response(request)
            if client_request_id:
                response["X-Client-Request-ID"] = client_request_id
            if not response.has_header("X-Request-ID"):
                response["X-Request-ID"] = request_id
            return response
        finally:
            seconds = time.perf_counter() - started
            self._report(request, response, seconds, request_id, client_request_id)
            request_id_var.reset(reset)

    @staticmethod
    def _report(
        request: HttpRequest,
        response: HttpResponse | None,
        seconds: float,
        request_id: str,
        client_request_id: str,
    ) -> None:
        status = response.status_code if response is not None else 500
        endpoint = endpoint_of(request.path_info)
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics.HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=str(status)).inc()
        metrics.HTTP_LATENCY.labels(endpoint=endpoint).observe(seconds)
        if status == 401 and endpoint == "mcp":
            metrics.AUTH_FAILURES.labels(endpoint="mcp").inc()

        caller = getattr(request, "zava_caller", None)
        if endpoint in QUIET_ENDPOINTS and status < 500:
            level = logging.DEBUG
        else:
            level = logging.WARNING if status >= 500 else logging.INFO
        logger.log(
            level,
            "%s %s %s",
            method,
            request.path[:200],
            status,
            extra={
                "method": method,
                "path": request.path[:200],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": request_id,
                "client_request_id": client_request_id or None,
                "manager_id": str(caller.manager_id) if caller else None,
            },
        )
