"""JSON-RPC answers, and how they travel as HTTP responses.

:class:`Reply` is one answer whatever the transport (HTTP or stdio): the JSON-RPC
message, the HTTP status it maps to and the headers HTTP adds. :func:`respond`
frames it for HTTP; every answer ``/mcp`` sends is built here.

A client of ``/mcp`` speaks JSON-RPC, so every answer it gets is JSON, refusals
included: a 401, 403, 405, 413, 429, 500 or 503 carries a JSON-RPC error (``id``
``null`` where no request was read), never Django's HTML pages. Only the 202 that
acknowledges a notification has no body, as the transport asks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse

JSON = "application/json"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# Errors of the transport rather than of a method: the JSON-RPC range for servers.
SERVER_ERROR = -32000
DATABASE_DOWN = "The database is unavailable right now; retry shortly."


@dataclass(frozen=True)
class Reply:
    """What to send back: a JSON-RPC message (None: nothing, as for a notification),
    the HTTP status it maps to, and headers an HTTP transport adds."""

    message: dict[str, Any] | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def request_id_of(message: dict[str, Any]) -> str | int | None:
    """``message``'s id when it is one JSON-RPC allows, else None (as for a parse error)."""
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return None
    return request_id


def result_reply(request_id: str | int, value: Any) -> Reply:
    """A success answer; ``value`` is one of the SDK's result models."""
    payload = value.model_dump(by_alias=True, mode="json", exclude_none=True)
    return Reply({"jsonrpc": "2.0", "id": request_id, "result": payload})


def error_reply(
    request_id: str | int | None,
    code: int,
    message: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> Reply:
    """An error answer; ``data`` is the error's optional ``data`` member."""
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return Reply({"jsonrpc": "2.0", "id": request_id, "error": error}, status, headers or {})


def database_down_reply() -> Reply:
    """503 with ``Retry-After``: the database is down; try again shortly."""
    return error_reply(None, SERVER_ERROR, DATABASE_DOWN, status=503, headers={"Retry-After": "5"})


def respond(reply: Reply) -> HttpResponse:
    """The reply as an HTTP response: JSON with an explicit length, or 202 for none."""
    if reply.message is None:
        return HttpResponse(status=202, headers={"Content-Length": "0"})
    return json_response(reply.message, reply.status, headers=reply.headers)


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
    data: dict[str, Any] | None = None,
) -> HttpResponse:
    return respond(
        error_reply(request_id, code, message, status=status, headers=headers, data=data)
    )
