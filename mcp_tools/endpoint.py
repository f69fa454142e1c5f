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

Both eras of MCP are spoken here (:mod:`mcp_tools.eras`). A 2025-era request names
its version in ``MCP-Protocol-Version`` (``initialize`` negotiates in its body; a
missing header means the spec's default, 2025-03-26). A 2026-07-28 request carries
its envelope in ``params._meta``, and the headers that mirror its body must agree
with it (:func:`header_mismatch`): else HTTP 400 with -32020. A version spoken in
neither era gets 400 with -32022 and the versions that are. Every answer carries the
version in effect.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from mcp import types

from mcp_tools import dispatch, eras
from mcp_tools.caller import Caller, authenticated
from mcp_tools.eras import EnvelopeRefused
from mcp_tools.jsonrpc import JSON, error_response, respond
from mcp_tools.protected_resource import public_origin

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
# The body field each method's Mcp-Name header mirrors.
NAMED_BY = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
BASE64_SENTINEL = re.compile(r"=\?base64\?(.*)\?=", re.DOTALL)
VERSION_MISMATCH = (
    f"The {PROTOCOL_VERSION_HEADER} header does not match the body's protocol version."
)
VERSION_MISSING = f"The {PROTOCOL_VERSION_HEADER} header is missing."
# What an HTTP field value may hold (RFC 9110): visible ASCII, space and tab.
FIELD_VALUE = re.compile(r"[\t\x20-\x7e]*")


def _refused(message: dict[str, Any], refusal: EnvelopeRefused) -> HttpResponse:
    return respond(refusal.reply(message))


def _header_value(text: str) -> str | None:
    """A mirrored header's value, Base64 sentinel decoded; None when it is malformed."""
    text = text.strip(" \t")
    if not FIELD_VALUE.fullmatch(text):
        return None
    encoded = BASE64_SENTINEL.fullmatch(text)
    if encoded is None:
        return text
    try:
        return base64.b64decode(encoded.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def header_mismatch(request: HttpRequest, message: dict[str, Any]) -> str | None:
    """Why the ``Mcp-Method`` or ``Mcp-Name`` header of a 2026-07-28 request disagrees
    with its body, or None (``MCP-Protocol-Version`` is compared in :func:`_answer`).

    Intermediaries may route or limit on these headers; the server executes the body,
    so a request whose headers say otherwise is refused rather than served. Names
    compare case-insensitively (as HTTP has them), values exactly, around whitespace
    aside.
    """
    method = message.get("method")
    sent_method = request.headers.get(METHOD_HEADER)
    if sent_method is None:
        return None if "id" not in message else f"The {METHOD_HEADER} header is missing."
    if _header_value(sent_method) != method:
        return f"The {METHOD_HEADER} header does not match the body's method."
    field = NAMED_BY.get(method) if isinstance(method, str) else None
    params = message.get("params")
    named = params.get(field) if field and isinstance(params, dict) else None
    if not isinstance(named, str):
        return None  # the method's own validation reports a missing name
    sent_name = request.headers.get(NAME_HEADER)
    if sent_name is None:
        return f"The {NAME_HEADER} header is missing."
    if _header_value(sent_name) != named:
        return f"The {NAME_HEADER} header does not match the body's params.{field}."
    return None


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
        return _answer(request, message)


def _answer(request: HttpRequest, message: dict[str, Any]) -> HttpResponse:
    """The response to a well-formed JSON-RPC message, in the era it speaks."""
    caller = authenticated(request).zava_caller
    origin = public_origin(request)
    header_version = request.headers.get(PROTOCOL_VERSION_HEADER)
    if header_version is not None:
        header_version = header_version.strip(" \t")
    body_version = eras.declared_version(message)
    if body_version is None and not eras.is_modern(header_version):
        return _legacy_answer(message, caller, origin, header_version)
    if body_version is not None and header_version != body_version:
        text = VERSION_MISSING if header_version is None else VERSION_MISMATCH
        return _refused(message, EnvelopeRefused(eras.HEADER_MISMATCH, text))
    try:
        envelope = eras.read_envelope(message, header_version)
    except EnvelopeRefused as refusal:
        return _refused(message, refusal)
    assert envelope is not None  # modern by its body or its header, as checked above
    mismatch = header_mismatch(request, message)
    if mismatch is not None:
        return _refused(message, EnvelopeRefused(eras.HEADER_MISMATCH, mismatch))
    response = respond(dispatch.answer(message, caller, origin, envelope))
    response[PROTOCOL_VERSION_HEADER] = envelope.version
    return response


def _legacy_answer(
    message: dict[str, Any], caller: Caller, origin: str | None, header_version: str | None
) -> HttpResponse:
    """A 2025-era request: ``initialize`` negotiates in its body, the rest name their
    version in the header (none: the spec's default)."""
    if message.get("method") == "initialize":
        reply = dispatch.answer(message, caller, origin)
        response = respond(reply)
        negotiated = (reply.message or {}).get("result", {}).get("protocolVersion")
        if negotiated:
            response[PROTOCOL_VERSION_HEADER] = negotiated
        return response
    if header_version is not None and header_version not in eras.HANDSHAKE_VERSIONS:
        return _refused(message, eras.unsupported_version(header_version))
    response = respond(dispatch.answer(message, caller, origin))
    response[PROTOCOL_VERSION_HEADER] = header_version or types.DEFAULT_NEGOTIATED_VERSION
    return response
