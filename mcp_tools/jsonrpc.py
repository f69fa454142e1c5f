"""JSON-RPC answers as HTTP responses: every answer ``/mcp`` sends is built here.

A client of ``/mcp`` speaks JSON-RPC, so every answer it gets is JSON, refusals
included: a 401, 403, 405, 413, 429, 500 or 503 carries a JSON-RPC error (``id``
``null`` where no request was read), never Django's HTML pages. Only the 202 that
acknowledges a notification has no body, as the transport asks.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpResponse

JSON = "application/json"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Errors of the transport rather than of a method: the JSON-RPC range for servers.
SERVER_ERROR = -32000


def valid_utf8(text: str) -> bytes:
    """``text`` as UTF-8, lone surrogates (which a client can send escaped) as U+FFFD.

    Anything the server echoes (a table name, a URI, a query) may hold one; encoding
    it as is would fail and turn the answer into a 500.
    """
    try:
        return text.encode()  # almost always: no scan of the whole answer
    except UnicodeEncodeError:
        return LONE_SURROGATE.sub("\ufffd", text).encode()


def json_response(
    payload: dict[str, Any], status: int = 200, *, headers: dict[str, str] | None = None
) -> HttpResponse:
    body = valid_utf8(json.dumps(payload, separators=(",", ":"), ensure_ascii=False))
    # An explicit length keeps gunicorn from switching to chunked encoding.
    return HttpResponse(
        body,
        status=status,
        content_type=JSON,
        headers={**(headers or {}), "Content-Length": str(len(body))},
    )


def error_response(
    request_id: str | int | None,
    code: int,
    message: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    error = {"code": code, "message": message}
    return json_response(
        {"jsonrpc": "2.0", "id": request_id, "error": error}, status, headers=headers
    )
