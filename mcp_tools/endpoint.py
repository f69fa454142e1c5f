"""The ``/mcp`` endpoint: MCP's Streamable HTTP transport, stateless, JSON responses.

django-mcp-server's own view builds an SDK session manager, an event loop and two
thread hops for every request, and answers GET with 406. This view speaks the
transport directly: it checks the headers, the size and the JSON-RPC envelope, hands
the message and the authenticated caller (``request.zava_caller``, which
:mod:`mcp_tools.middleware` sets as Django's own middleware sets ``request.user``) to
:func:`mcp_tools.dispatch.answer`, and frames the reply. Everything runs
synchronously on the request thread. When the database is down, a request that needs
it answers 503 with ``Retry-After``.

Every answer is JSON (:mod:`mcp_tools.jsonrpc`): a method other than POST gets 405
and a body over ``ZAVA_MCP_MAX_BODY_BYTES`` 413, each with a JSON-RPC error.

Every request but ``initialize`` (which negotiates in its body) names its protocol
version in ``MCP-Protocol-Version``: an unsupported one gets 400, a missing one means
the spec's default (2025-03-26), and the answer carries the version in effect.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from mcp import types
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

from mcp_tools import dispatch
from mcp_tools.caller import authenticated
from mcp_tools.jsonrpc import JSON, error_response, respond
from mcp_tools.protected_resource import public_origin

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"


def _unsupported_version(message: dict[str, Any], version: str) -> HttpResponse:
    """400, as the spec asks, with a JSON-RPC error naming the versions spoken here."""
    request_id = message.get("id")
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        request_id = None
    supported = ", ".join(SUPPORTED_PROTOCOL_VERSIONS)
    text = f"Unsupported MCP-Protocol-Version {version[:32]!r}; supported versions: {supported}."
    return error_response(request_id, types.INVALID_REQUEST, text, status=400)


def _body_within_limit(request: HttpRequest) -> bytes | None:
    """The request body, or None when it is over ``ZAVA_MCP_MAX_BODY_BYTES``.

    A declared length over the limit is refused unread; Django's own cap
    (``DATA_UPLOAD_MAX_MEMORY_SIZE``) would otherwise answer its HTML 400 page.
    """
    limit = settings.ZAVA_MCP_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= limit else None


def _accepts_json(accept: str) -> bool:
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media_types & {JSON, "application/*", "*/*"})


def _header_problem(request: HttpRequest) -> HttpResponse | None:
    if not _accepts_json(request.headers.get("Accept", "")):
        return error_response(
            None, types.INVALID_REQUEST, "Not Acceptable: accept application/json.", status=406
        )
    if request.content_type != JSON:
        return error_response(
            None, types.INVALID_REQUEST, "Content-Type must be application/json.", status=415
        )
    return None


@method_decorator(csrf_exempt, name="dispatch")
class McpEndpointView(View):
    http_method_names = ["post"]

    def http_method_not_allowed(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        # Stateless server: no server-initiated stream (GET) and no sessions (DELETE).
        return error_response(
            None,
            types.INVALID_REQUEST,
            f"Method {str(request.method)[:16]} not allowed: send JSON-RPC messages by POST.",
            status=405,
            headers={"Allow": "POST"},
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        refused = _header_problem(request)
        if refused is not None:
            return refused
        body = _body_within_limit(request)
        if body is None:
            limit = settings.ZAVA_MCP_MAX_BODY_BYTES
            message = f"Request body too large: the limit is {limit} bytes."
            return error_response(None, types.INVALID_REQUEST, message, status=413)
        try:
            message = json.loads(body)
        except (ValueError, RecursionError):
            return error_response(
                None, types.PARSE_ERROR, "Parse error: the body is not JSON.", status=400
            )
        if isinstance(message, list):
            return error_response(
                None, types.INVALID_REQUEST, "Batches are not supported.", status=400
            )
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return error_response(
                None, types.INVALID_REQUEST, "Not a JSON-RPC 2.0 message.", status=400
            )
        caller = authenticated(request).zava_caller
        origin = public_origin(request)
        if message.get("method") == "initialize":  # the version is negotiated in the body
            reply = dispatch.answer(message, caller, origin)
            response = respond(reply)
            negotiated = (reply.message or {}).get("result", {}).get("protocolVersion")
            if negotiated:
                response[PROTOCOL_VERSION_HEADER] = negotiated
            return response
        version = request.headers.get(PROTOCOL_VERSION_HEADER, types.DEFAULT_NEGOTIATED_VERSION)
        if version not in SUPPORTED_PROTOCOL_VERSIONS:
            return _unsupported_version(message, version)
        response = respond(dispatch.answer(message, caller, origin))
        response[PROTOCOL_VERSION_HEADER] = version
        return response
