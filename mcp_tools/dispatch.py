"""One JSON-RPC message in, one answer out: MCP's methods, whatever the transport.

The HTTP endpoint (:mod:`mcp_tools.endpoint`) and stdio (``manage.py mcp_stdio``)
both hand a parsed message and the caller to :func:`answer` and turn the
:class:`~mcp_tools.jsonrpc.Reply` into their own framing. Lists and ``initialize``
come from data built at start-up (the registry); tools, resource reads, prompts and
completions go to :mod:`mcp_tools.pipeline`. Nothing here touches the database.
"""

from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

from mcp import types
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS
from pydantic import ValidationError

from mcp_tools import icons, outcomes, pipeline, server
from mcp_tools.answers import validation_summary
from mcp_tools.caller import Caller
from mcp_tools.jsonrpc import Reply, database_down_reply, error_reply, result_reply
from mcp_tools.registry import registry
from retail.tenancy import DatabaseDown

# The SDK's own request models, keyed by method name.
REQUEST_TYPES: dict[str, type[Any]] = {
    model.model_fields["method"].annotation.__args__[0]: model
    for model in typing.get_args(types.ClientRequestType)
}


def answer(message: dict[str, Any], caller: Caller, origin: str | None) -> Reply:
    """The answer to one JSON-RPC 2.0 message from ``caller``; list items get their
    icons under ``origin`` (none without one)."""
    method = message.get("method")
    if method is None:
        if "id" in message and ("result" in message or "error" in message):
            return Reply(None)  # a response to a server request: nothing to do
        return error_reply(message.get("id"), types.INVALID_REQUEST, "Missing method.", status=400)
    if not isinstance(method, str):
        return error_reply(None, types.INVALID_REQUEST, "The method must be a string.", status=400)
    if "id" not in message:
        return Reply(None)  # notifications never get an answer
    request_id = message["id"]
    if isinstance(request_id, bool) or not isinstance(request_id, str | int):
        return error_reply(
            None, types.INVALID_REQUEST, "The id must be a string or an integer.", status=400
        )
    model = REQUEST_TYPES.get(method)
    if model is None:
        return error_reply(request_id, types.METHOD_NOT_FOUND, f"Method not found: {method[:64]}")
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
        return _run(request_id, parsed, caller, origin)
    except pipeline.RpcError as refused:
        return error_reply(request_id, refused.code, refused.message)
    except DatabaseDown:
        return database_down_reply()


def _run(request_id: str | int, parsed: Any, caller: Caller, origin: str | None) -> Reply:
    params = parsed.params
    if isinstance(parsed, types.CallToolRequest):
        return result_reply(
            request_id, pipeline.run_tool_call(caller, params.name, params.arguments)
        )
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
    listed = _list(parsed.method, origin)
    if listed is None:
        return error_reply(request_id, types.METHOD_NOT_FOUND, f"Method not found: {parsed.method}")
    return result_reply(request_id, listed)


def initialize_result(requested: str, origin: str | None) -> types.InitializeResult:
    """The handshake's answer: the version asked for when spoken here, else the latest."""
    return types.InitializeResult(
        protocolVersion=(
            requested if requested in SUPPORTED_PROTOCOL_VERSIONS else types.LATEST_PROTOCOL_VERSION
        ),
        capabilities=server.CAPABILITIES,
        serverInfo=server.server_info(origin),
        instructions=server.INSTRUCTIONS,
    )


@lru_cache(maxsize=64)  # per method and origin the server answers to (ALLOWED_HOSTS)
def _list(method: str, origin: str | None) -> types.Result | None:
    """A list answer, built once per origin from the registry."""
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
    elif method == "prompts/list":
        listed = types.ListPromptsResult(prompts=[p.listing() for p in table.prompts.values()])
    else:
        return None
    return listed if origin is None else icons.with_icons(listed, origin)
