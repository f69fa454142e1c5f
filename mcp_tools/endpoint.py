"""The ``/mcp`` endpoint: MCP's Streamable HTTP transport, stateless, JSON responses.

django-mcp-server's own view builds an SDK session manager, an event loop and two
thread hops for every request, and answers GET with 406. This view speaks the same
protocol directly: it parses the JSON-RPC envelope with the SDK's own types, answers
``initialize``, ``ping`` and ``tools/list`` from data built once (no database), and
runs tools synchronously on the request thread, each in a tenant context of its own
(:mod:`mcp_tools.invocation`). Other methods (resources, prompts, completions) go to
the SDK's handlers; a resource read or completion opens its own tenant context the
same way, prompts read no data. Lists carry each item's icons (:mod:`mcp_tools.icons`).
When the database is down, a tool call, resource read or completion answers 503 with
``Retry-After``.

Every answer is JSON (:mod:`mcp_tools.jsonrpc`): a method other than POST gets 405
and a body over ``ZAVA_MCP_MAX_BODY_BYTES`` 413, each with a JSON-RPC error.

Every request but ``initialize`` (which negotiates in its body) names its protocol
version in ``MCP-Protocol-Version``: an unsupported one gets 400, a missing one means
the spec's default (2025-03-26), and the answer carries the version in effect.

Authentication, the Origin check and rate limiting happen before this view, for
every POST, in :mod:`mcp_tools.middleware`.
"""

from __future__ import annotations

import json
import logging
import time
import typing
from functools import cache, lru_cache
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from mcp import types
from mcp.server.fastmcp.exceptions import FastMCPError
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mcp_tools import icons, request_audit, sdk_adapter, server
from mcp_tools.formatting import validation_summary
from mcp_tools.invocation import OUTCOMES, ToolAnswer, invoke
from mcp_tools.jsonrpc import JSON, error_response, json_response
from mcp_tools.middleware import database_unavailable
from mcp_tools.protected_resource import public_origin
from mcp_tools.request_audit import AUDITED_METHODS
from retail.db_resilience import DatabaseDown
from retail.errors import ErrorCode, InvalidInput, ZavaError
from retail.models import Outcome

logger = logging.getLogger("zava.mcp")

PROTOCOL_VERSION_HEADER = "MCP-Protocol-Version"
RESOURCE_NOT_FOUND = -32002  # the MCP spec's code for resources/read of an unknown URI
# The SDK's own request and notification models, keyed by method name.
REQUEST_TYPES: dict[str, type] = {
    model.model_fields["method"].annotation.__args__[0]: model
    for model in typing.get_args(types.ClientRequestType)
}
NOTIFICATION_TYPES: dict[str, type] = {
    model.model_fields["method"].annotation.__args__[0]: model
    for model in typing.get_args(types.ClientNotificationType)
}


def _result(request_id: str | int, result: types.Result) -> HttpResponse:
    payload = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return json_response({"jsonrpc": "2.0", "id": request_id, "result": payload})


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


def _accepted() -> HttpResponse:
    return HttpResponse(status=202, headers={"Content-Length": "0"})


def _accepts_json(accept: str) -> bool:
    media_types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(media_types & {JSON, "application/*", "*/*"})


@lru_cache(maxsize=16)  # one per origin the server answers to (ALLOWED_HOSTS)
def _tools_list_result(origin: str) -> types.Result:
    return icons.with_icons(types.ListToolsResult(tools=server.tool_list()), origin)


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
        rejected = self._check_headers(request)
        if rejected is not None:
            return rejected
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
        if message.get("method") == "initialize":
            return self._answer(request, message)  # the version is negotiated in the body
        version = request.headers.get(PROTOCOL_VERSION_HEADER, types.DEFAULT_NEGOTIATED_VERSION)
        if version not in SUPPORTED_PROTOCOL_VERSIONS:
            return _unsupported_version(message, version)
        response = self._answer(request, message)
        response[PROTOCOL_VERSION_HEADER] = version
        return response

    def _answer(self, request: HttpRequest, message: dict[str, Any]) -> HttpResponse:
        """The answer to one JSON-RPC message whose envelope and version were accepted."""
        method = message.get("method")
        if method is None:
            if "id" in message and ("result" in message or "error" in message):
                return _accepted()  # a response to a server request: nothing to do
            return error_response(
                message.get("id"), types.INVALID_REQUEST, "Missing method.", status=400
            )
        if not isinstance(method, str):
            return error_response(
                None, types.INVALID_REQUEST, "The method must be a string.", status=400
            )
        if "id" not in message:
            return _accepted()  # notifications never get an answer
        request_id = message["id"]
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return error_response(
                None, types.INVALID_REQUEST, "The id must be a string or an integer.", status=400
            )

        model = REQUEST_TYPES.get(method)
        if model is None:
            return error_response(
                request_id, types.METHOD_NOT_FOUND, f"Method not found: {method[:64]}"
            )
        try:
            parsed = model.model_validate(
                {"method": method, "params": message["params"]}
                if "params" in message
                else {"method": method}
            )
        except ValidationError as exc:
            if method in AUDITED_METHODS:
                request_audit.record(
                    method, message.get("params"), Outcome.REFUSED, "validation_error"
                )
            return error_response(request_id, types.INVALID_PARAMS, validation_summary(exc))
        return self._dispatch(request, request_id, parsed)

    @staticmethod
    def _check_headers(request: HttpRequest) -> HttpResponse | None:
        if not _accepts_json(request.headers.get("Accept", "")):
            return error_response(
                None, types.INVALID_REQUEST, "Not Acceptable: accept application/json.", status=406
            )
        if request.content_type != JSON:
            return error_response(
                None, types.INVALID_REQUEST, "Content-Type must be application/json.", status=415
            )
        return None

    def _dispatch(self, request: HttpRequest, request_id: str | int, parsed: Any) -> HttpResponse:
        if isinstance(parsed, types.CallToolRequest):
            try:
                return _result(request_id, _call_tool(request, parsed.params))
            except DatabaseDown:
                return database_unavailable()
        if isinstance(parsed, types.PingRequest):
            return _result(request_id, types.EmptyResult())
        if isinstance(parsed, types.InitializeRequest):
            result = _initialize(parsed.params, public_origin(request))
            response = _result(request_id, result)
            response[PROTOCOL_VERSION_HEADER] = result.protocolVersion
            return response
        if isinstance(parsed, types.ListToolsRequest):
            return _result(request_id, _tools_list_result(public_origin(request)))
        handler = sdk_adapter.request_handler(type(parsed))
        if handler is None:
            return error_response(
                request_id, types.METHOD_NOT_FOUND, f"Method not found: {parsed.method}"
            )
        if parsed.method not in AUDITED_METHODS:  # lists: answered with their icons
            answer = _handler_answer(request_id, parsed, handler, origin=public_origin(request))
            return answer[0]
        return _audited_handler_answer(request_id, parsed, handler)


def _handler_answer(
    request_id: str | int, parsed: Any, handler: Any, *, origin: str | None = None
) -> tuple[HttpResponse, str]:
    """The SDK handler's answer, and the error code it amounts to ("" for success); a
    list's items get their icons under ``origin``."""
    try:
        outcome = async_to_sync(handler)(parsed)
    except Exception as exc:
        return _handler_error(request_id, parsed, exc)
    if isinstance(outcome, types.ErrorData):
        return error_response(request_id, outcome.code, outcome.message), "internal_error"
    result = outcome.root if origin is None else icons.with_icons(outcome.root, origin)
    return _result(request_id, result), ""


def _handler_error(request_id: str | int, parsed: Any, exc: Exception) -> tuple[HttpResponse, str]:
    """A failed handler's answer: 503 when the database is down, else a JSON-RPC error."""
    if sdk_adapter.original_error(exc, DatabaseDown) is not None:
        return database_unavailable(), "unavailable"
    if isinstance(exc, ZavaError):  # a completion's read: typed, client-safe messages
        code = types.INVALID_PARAMS if exc.code == ErrorCode.VALIDATION else types.INTERNAL_ERROR
        return error_response(request_id, code, exc.message[:500]), str(exc.code)
    if isinstance(exc, FastMCPError):  # a resource that failed to read: our messages are safe
        return error_response(request_id, types.INTERNAL_ERROR, str(exc)[:500]), "internal_error"
    if isinstance(exc, ValueError):  # FastMCP's refusals: unknown URI or prompt, bad
        # arguments, and any failure of a templated resource (a chart), wrapped twice over
        typed = sdk_adapter.original_error(exc, ZavaError)
        if typed is not None and typed.code != ErrorCode.VALIDATION:
            failed = error_response(request_id, types.INTERNAL_ERROR, typed.message[:500])
            return failed, str(typed.code)
        unknown = isinstance(parsed, types.ReadResourceRequest)
        code = RESOURCE_NOT_FOUND if unknown else types.INVALID_PARAMS
        message = typed.message if typed is not None else str(exc)
        return error_response(request_id, code, message[:500]), "validation_error"
    logger.error("MCP handler for %s failed", parsed.method, exc_info=exc)
    return error_response(request_id, types.INTERNAL_ERROR, "Internal error."), "internal_error"


def _audited_handler_answer(request_id: str | int, parsed: Any, handler: Any) -> HttpResponse:
    """A resource read or prompt request, answered only once its audit row is written."""
    started = time.perf_counter()
    response, code = _handler_answer(request_id, parsed, handler)
    if code == "unavailable":  # the database is down: no row can be written, and a 503
        return response  # carries no data (tool calls that meet it are not recorded either)
    # The codes are ErrorCode values: the same outcomes as a tool call's (invocation).
    outcome = OUTCOMES.get(ErrorCode(code), Outcome.ERROR) if code else Outcome.OK
    params = parsed.params.model_dump(mode="json", by_alias=True) if parsed.params else None
    duration_ms = (time.perf_counter() - started) * 1000
    if not request_audit.record(parsed.method, params, outcome, code, duration_ms=duration_ms):
        return error_response(request_id, types.INTERNAL_ERROR, request_audit.UNRECORDED)
    return response


def _initialize(params: types.InitializeRequestParams, origin: str) -> types.InitializeResult:
    options = _initialization_options()
    requested = params.protocolVersion
    return types.InitializeResult(
        protocolVersion=(
            requested if requested in SUPPORTED_PROTOCOL_VERSIONS else types.LATEST_PROTOCOL_VERSION
        ),
        capabilities=options.capabilities,
        serverInfo=server.server_info(origin),
        instructions=options.instructions,
    )


@cache
def _initialization_options() -> Any:
    return server.initialization_options()


def _call_tool(request: HttpRequest, params: types.CallToolRequestParams) -> types.CallToolResult:
    """Validate the arguments with the tool's own model and run it on this thread."""
    tool = sdk_adapter.find_tool(params.name)
    if tool is None:
        known = ", ".join(t.name for t in server.tool_list())
        error = InvalidInput(f"Unknown tool {params.name[:64]!r}. Tools: {known}.", reason="tool")
        return _refuse(params, error)
    try:
        arguments = sdk_adapter.validated_arguments(tool, params.arguments or {})
    except ValidationError as exc:
        error = InvalidInput(f"Invalid arguments: {validation_summary(exc)}", reason="arguments")
        return _refuse(params, error)
    found = sdk_adapter.toolset_method(tool)
    toolset = found.toolset(context=None, request=request)
    return getattr(toolset, found.method_name)(**arguments)


def _refuse(params: types.CallToolRequestParams, error: InvalidInput) -> types.CallToolResult:
    """A tool error for a call that never reached the tool, audited like any other."""

    def fail() -> ToolAnswer:
        raise error

    return invoke(params.name[:100], dict(params.arguments or {}), fail)
