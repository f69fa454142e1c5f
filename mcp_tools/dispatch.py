"""One JSON-RPC message in, one answer out: MCP's methods, whatever the transport or era.

The HTTP endpoint (:mod:`mcp_tools.endpoint`) and stdio (``manage.py mcp_stdio``)
both hand a parsed message, the caller and, for a 2026-07-28 request, its
:class:`~mcp_tools.eras.Envelope` to :func:`answer`, and turn the
:class:`~mcp_tools.jsonrpc.Reply` into their own framing. Lists, ``initialize`` and
``server/discover`` come from data built at start-up (the registry); tools, resource
reads, prompts and completions go to :mod:`mcp_tools.pipeline`, the same for both
eras. Nothing here touches the database.

The eras differ only at the edges. A modern request has no ``initialize``, ``ping``
or ``logging/setLevel`` (the revision removed them: -32601, HTTP 404) and has
``server/discover``; its results say ``resultType: "complete"`` and carry the
server's identity in ``_meta``, and the cacheable ones say how long and to whom
they may be cached (:func:`caching_hints`); an unknown resource is -32602, as the
revision asks, where legacy clients keep the 2025 spec's -32002.
"""

from __future__ import annotations

import typing
from dataclasses import replace
from functools import lru_cache
from typing import Any

from mcp import types
from pydantic import ValidationError

from mcp_tools import eras, icons, outcomes, pipeline, server
from mcp_tools.answers import validation_summary
from mcp_tools.caller import Caller
from mcp_tools.eras import Envelope
from mcp_tools.jsonrpc import Reply, database_down_reply, error_reply, result_reply
from mcp_tools.registry import registry
from retail.tenancy import DatabaseDown

LISTS = frozenset({"tools/list", "resources/list", "resources/templates/list", "prompts/list"})
# The methods served here (the SDK knows more: logging, subscriptions, tasks).
SERVED = LISTS | {
    "initialize",
    "ping",
    "tools/call",
    "resources/read",
    "prompts/get",
    "completion/complete",
}
# The SDK's own request models of the methods served here, keyed by method name.
REQUEST_TYPES: dict[str, type[Any]] = {
    name: model
    for model in typing.get_args(types.ClientRequestType)
    if (name := model.model_fields["method"].annotation.__args__[0]) in SERVED
}
DISCOVER = "server/discover"
# Answers that change only when the server is deployed: the same for every caller.
STATIC_ANSWERS = LISTS | {DISCOVER}
# Requests of the handshake era that 2026-07-28 removed.
REMOVED_IN_MODERN = frozenset(
    {"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"}
)
# Notifications of the handshake era that 2026-07-28 removed.
REMOVED_NOTIFICATIONS = frozenset({"notifications/initialized", "notifications/roots/list_changed"})
# How long a client may keep an answer that changes only when the server is deployed
# (lists, discovery): the same for every caller, so shared caches may keep it too.
STATIC_TTL_MS = 5 * 60 * 1000
# A resource read: every resource depends on the caller's stores (the documentation
# names them), so only the caller's own client may keep it, and not for long: head
# office can change the stores a manager sees at any time.
READ_TTL_MS = 60 * 1000


# server/discover: the versions, capabilities and instructions, with no handshake (the
# server's identity joins every modern result in _modern).
DISCOVERY = types.Result.model_validate(
    {
        "supportedVersions": list(eras.SUPPORTED_VERSIONS),
        "capabilities": server.MODERN_CAPABILITIES,
        "instructions": server.INSTRUCTIONS,
    }
)


def caching_hints(method: str) -> tuple[int, str] | None:
    """``(ttlMs, cacheScope)`` for a modern result of ``method``; None when not cacheable."""
    if method in STATIC_ANSWERS:
        return STATIC_TTL_MS, "public"
    if method == "resources/read":
        return READ_TTL_MS, "private"
    return None


def answer(
    message: dict[str, Any], caller: Caller, origin: str | None, envelope: Envelope | None = None
) -> Reply:
    """The answer to one JSON-RPC 2.0 message from ``caller``: under the 2026-07-28
    rules when it came with an ``envelope``, else as in the handshake era. List items
    get their icons under ``origin`` (none without one)."""
    reply = _answer(message, caller, origin, envelope)
    if envelope is None or reply.message is None:
        return reply
    return _modern(reply, message.get("method"), origin)


def _answer(
    message: dict[str, Any], caller: Caller, origin: str | None, envelope: Envelope | None
) -> Reply:
    method = message.get("method")
    if method is None:
        if "id" in message and ("result" in message or "error" in message):
            return Reply(None)  # a response to a server request: nothing to do
        return error_reply(message.get("id"), types.INVALID_REQUEST, "Missing method.", status=400)
    if not isinstance(method, str):
        return error_reply(None, types.INVALID_REQUEST, "The method must be a string.", status=400)
    if "id" not in message:
        if envelope is not None and method in REMOVED_NOTIFICATIONS:
            return _not_found(None, method, envelope)
        return Reply(None)  # notifications never get an answer
    request_id = message["id"]
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return error_reply(
            None, types.INVALID_REQUEST, "The id must be a string or an integer.", status=400
        )
    if envelope is not None:
        if method == DISCOVER:
            return result_reply(request_id, DISCOVERY)
        if method in REMOVED_IN_MODERN:
            return _not_found(request_id, method, envelope)
        caller = replace(caller, client=envelope.client)
    model = REQUEST_TYPES.get(method)
    if model is None:
        return _not_found(request_id, method, envelope)
    try:
        parsed = model.model_validate(
            {"method": method, "params": message["params"]}
            if "params" in message
            else {"method": method}
        )
    except ValidationError as exc:
        if method in outcomes.AUDITED_METHODS:
            outcomes.record_refused(caller, method, message.get("params"))
        return error_reply(request_id, types.INVALID_PARAMS, validation_summary(exc))
    try:
        return _run(request_id, parsed, caller, origin, modern=envelope is not None)
    except pipeline.RpcError as refused:
        code = refused.code
        if envelope is not None and code == pipeline.RESOURCE_NOT_FOUND:
            code = types.INVALID_PARAMS  # 2026-07-28 retired -32002
        return error_reply(request_id, code, refused.message, data=refused.data)
    except DatabaseDown:
        return database_down_reply()


def _not_found(request_id: str | int | None, method: str, envelope: Envelope | None) -> Reply:
    """-32601; over HTTP a modern request gets it with 404, as the revision asks."""
    status = 200 if envelope is None else 404
    text = f"Method not found: {method[:64]}"
    if envelope is not None and method in REMOVED_IN_MODERN | REMOVED_NOTIFICATIONS:
        text += f" (removed in MCP {envelope.version})"
    return error_reply(request_id, types.METHOD_NOT_FOUND, text, status=status)


def _modern(reply: Reply, method: str | None, origin: str | None) -> Reply:
    """A result as 2026-07-28 frames it; errors pass as they are."""
    result = (reply.message or {}).get("result")
    if not isinstance(result, dict):
        return reply
    result["resultType"] = "complete"
    result.setdefault("_meta", {})[eras.SERVER_INFO_KEY] = _server_info(origin)
    hints = caching_hints(method) if isinstance(method, str) else None
    if hints is not None:
        result["ttlMs"], result["cacheScope"] = hints
    return reply


@lru_cache(maxsize=64)
def _server_info(origin: str | None) -> dict[str, Any]:
    return server.server_info(origin).model_dump(by_alias=True, mode="json", exclude_none=True)


def _run(
    request_id: str | int, parsed: Any, caller: Caller, origin: str | None, *, modern: bool
) -> Reply:
    params = parsed.params
    if isinstance(parsed, types.CallToolRequest):
        # 2026-07-28 makes an unknown tool a protocol error; 2025 clients keep their
        # tool error.
        called = pipeline.run_tool_call(
            caller, params.name, params.arguments, unknown_is_rpc_error=modern
        )
        return result_reply(request_id, called)
    if isinstance(parsed, types.ReadResourceRequest):
        return result_reply(request_id, pipeline.read_resource(caller, str(params.uri)))
    if isinstance(parsed, types.GetPromptRequest):
        return result_reply(request_id, pipeline.get_prompt(caller, params.name, params.arguments))
    if isinstance(parsed, types.CompleteRequest):
        return result_reply(request_id, pipeline.complete(caller, params))
    if isinstance(parsed, types.PingRequest):
        return result_reply(request_id, types.EmptyResult())
    if isinstance(parsed, types.InitializeRequest):
        return result_reply(request_id, initialize_result(params.protocolVersion, origin))
    return result_reply(request_id, _list(parsed.method, origin))


def initialize_result(requested: str, origin: str | None) -> types.InitializeResult:
    """The handshake's answer: the version asked for when spoken here, else the latest."""
    return types.InitializeResult(
        protocolVersion=(
            requested if requested in eras.HANDSHAKE_VERSIONS else types.LATEST_PROTOCOL_VERSION
        ),
        capabilities=server.CAPABILITIES,
        serverInfo=server.server_info(origin),
        instructions=server.INSTRUCTIONS,
    )


@lru_cache(maxsize=64)  # per method and origin the server answers to (ALLOWED_HOSTS)
def _list(method: str, origin: str | None) -> types.Result:
    """One of the :data:`LISTS`, built once per origin from the registry."""
    table = registry()
    listed: types.Result
    if method == "tools/list":
        listed = types.ListToolsResult(tools=table.tool_list)
    elif method == "resources/list":
        listed = types.ListResourcesResult(
            resources=[r.listing() for r in table.resources.values()]
        )
    elif method == "resources/templates/list":
        listed = types.ListResourceTemplatesResult(
            resourceTemplates=[t.listing() for t in table.templates]
        )
    else:
        listed = types.ListPromptsResult(prompts=[p.listing() for p in table.prompts.values()])
    return listed if origin is None else icons.with_icons(listed, origin)
