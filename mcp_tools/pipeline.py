"""Running one MCP request for a caller: the single path from a name to an answer.

:func:`run_tool_call`, :func:`read_resource`, :func:`get_prompt` and :func:`complete`
each look the name up once in the registry, validate once, run the work in the
caller's tenant context once (:func:`_as_caller`, through
:func:`retail.tenancy.run_as_tenant`, which picks the replica, retries a lost
connection and checks that the session did not drift), map errors once to typed,
client-safe ones, and describe what happened in a
:class:`~mcp_tools.outcomes.CallOutcome`, from which :mod:`mcp_tools.outcomes` writes
the audit row, the metrics and the log line; an answer whose audit row cannot be
written is not given. The caller is an argument, from the authenticated
token (HTTP) or the operator (stdio), never from anything the client writes.

When the database is down, :class:`~retail.tenancy.DatabaseDown` goes up to the
transport (HTTP answers 503) and nothing is recorded. Tool errors carry no rows, so
they are not fenced, except database errors: PostgreSQL's messages can quote a value.
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from mcp import types
from pydantic import ValidationError

from mcp_tools import outcomes
from mcp_tools.answers import ToolAnswer, error_payload, validation_summary
from mcp_tools.caller import Caller
from mcp_tools.completions import ARGUMENT_KINDS, checked_input
from mcp_tools.registry import ToolSpec, registry
from mcp_tools.untrusted import fence
from retail.errors import ErrorCode, InternalFailure, InvalidInput, ServiceUnavailable, ZavaError
from retail.services.completions import suggest
from retail.tenancy import DatabaseDown, run_as_tenant

logger = logging.getLogger("zava.mcp")
T = TypeVar("T")

RESOURCE_NOT_FOUND = -32002  # the MCP spec's code for resources/read of an unknown URI
READ_FAILED = "The resource could not be read; the incident has been logged."
COMPLETION_FAILED = "Suggestions could not be read; the incident has been logged."
TOOL_FAILED = "The tool failed unexpectedly; the incident has been logged."


class RpcError(Exception):
    """A request the transport answers with a JSON-RPC error (not a tool error)."""

    def __init__(self, code: int, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message[:500]
        self.data = data


def _as_caller(caller: Caller, work: Callable[[], T], failure: str) -> T:
    """``work()`` in a tenant context of its own for ``caller``: how every tool call,
    resource read and completion reads data. Typed errors (and ``DatabaseDown``) go
    up as they are; anything else is logged and becomes ``failure``."""

    def guarded() -> T:
        try:
            return work()
        except (ZavaError, DatabaseDown):
            raise
        except Exception:
            logger.exception("an MCP request failed unexpectedly")
            raise InternalFailure(failure) from None

    return run_as_tenant(caller.manager_id, guarded)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


# --- tools/call --------------------------------------------------------------------


def run_tool_call(
    caller: Caller,
    name: str,
    arguments: dict[str, Any] | None,
    *,
    unknown_is_rpc_error: bool = False,
) -> types.CallToolResult:
    """Run the tool ``name`` for ``caller``; every failure is a tool error, audited.

    With ``unknown_is_rpc_error`` (MCP 2026-07-28) a tool that is not here is a
    protocol error instead, :class:`RpcError` -32602, once its call is recorded.
    """
    started = time.perf_counter()
    spec = registry().tools.get(name)
    given = dict(arguments or {})
    answer: ToolAnswer | None = None
    error: ZavaError | None = None
    echo: str | None = None
    try:
        found, values = _validated(spec, name, given)
        given = values  # the audit keeps what ran, defaults filled in
        if found.sql_argument:
            echo = values[found.sql_argument]
        answer = _as_caller(caller, lambda: found.handler(**values), TOOL_FAILED)
    except DatabaseDown:
        logger.warning("tool %s: the database is down", name[:100], extra={"tool": name[:100]})
        raise
    except ZavaError as exc:
        error = exc
    outcome = outcomes.CallOutcome(
        method="tools/call",
        name=name[:100],
        registered=spec is not None,
        arguments=given,
        duration_ms=_elapsed_ms(started),
        error=error,
        rows=answer.rows if answer else None,
        fingerprint=answer.fingerprint if answer else getattr(error, "fingerprint", None),
        cache_hit=answer.cache_hit if answer else None,
        sql_argument=spec.sql_argument if spec else None,
    )
    if not outcomes.record(caller, outcome):
        return _tool_error(ServiceUnavailable(outcomes.UNRECORDED))
    if answer is None:
        assert error is not None
        if spec is None and unknown_is_rpc_error:
            raise RpcError(types.INVALID_PARAMS, error.message)
        return _tool_error(error, echo=echo)
    content = answer.content
    if spec is not None and spec.fenced:
        content = [_fenced(block) for block in content]
    return types.CallToolResult(content=content, structuredContent=answer.structured, isError=False)


def _validated(
    spec: ToolSpec | None, name: str, given: dict[str, Any]
) -> tuple[ToolSpec, dict[str, Any]]:
    if spec is None:
        known = ", ".join(sorted(registry().tools))
        raise InvalidInput(f"Unknown tool {name[:64]!r}. Tools: {known}.", reason="tool")
    try:
        return spec, spec.validated(given)
    except ValidationError as exc:
        raise _invalid_arguments(exc) from None


def _invalid_arguments(exc: ValidationError) -> InvalidInput:
    return InvalidInput(f"Invalid arguments: {validation_summary(exc)}", reason="arguments")


def _fenced(block: types.ContentBlock) -> types.ContentBlock:
    """A text block's rows fenced as untrusted data; images and links as they are."""
    if isinstance(block, types.TextContent):
        return block.model_copy(update={"text": fence(block.text)})
    return block


def _tool_error(error: ZavaError, *, echo: str | None = None) -> types.CallToolResult:
    text = error_payload(error, query=echo)
    if error.code == ErrorCode.DATABASE:  # PostgreSQL quotes values: 'syntax for
        text = fence(text)  # type integer: "<a product description>"'
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], isError=True)


# --- resources/read ----------------------------------------------------------------


def read_resource(caller: Caller, uri: str) -> types.ReadResourceResult:
    """Read ``uri`` (a resource, or a template's instance) in the caller's context."""
    started = time.perf_counter()
    table = registry()
    fixed = table.resources.get(uri)
    templated = table.template_of(uri) if fixed is None else None
    name = templated[0].uri_template if templated else uri
    error: ZavaError | None = None
    content: str | bytes = b""
    mime_type = "text/plain"
    try:
        if fixed is not None:
            mime_type, read = fixed.mime_type, fixed.read
        elif templated is not None:
            template, values = templated
            mime_type = template.mime_type
            read = lambda: template.read(**values)  # noqa: E731
        else:
            raise InvalidInput(f"Unknown resource: {uri[:100]}", reason="resource")
        content = _as_caller(caller, read, READ_FAILED)
    except ZavaError as exc:
        error = exc
    outcome = outcomes.CallOutcome(
        method="resources/read",
        name=name,
        registered=fixed is not None or templated is not None,
        arguments={"uri": uri},
        duration_ms=_elapsed_ms(started),
        error=error,
    )
    _record_or_refuse(caller, outcome)
    if error is not None:
        if error.code == ErrorCode.VALIDATION:
            raise RpcError(RESOURCE_NOT_FOUND, error.message, data={"uri": uri[:1000]})
        raise RpcError(types.INTERNAL_ERROR, error.message)
    if isinstance(content, bytes):
        blob = base64.b64encode(content).decode()
        item: types.TextResourceContents | types.BlobResourceContents = (
            types.BlobResourceContents.model_validate(
                {"uri": uri, "mimeType": mime_type, "blob": blob}
            )
        )
    else:
        item = types.TextResourceContents.model_validate(
            {"uri": uri, "mimeType": mime_type, "text": content}
        )
    return types.ReadResourceResult(contents=[item])


# --- prompts/get -------------------------------------------------------------------


def get_prompt(
    caller: Caller, name: str, arguments: dict[str, str] | None
) -> types.GetPromptResult:
    """The prompt ``name`` rendered with ``arguments``; prompts read no data."""
    started = time.perf_counter()
    spec = registry().prompts.get(name)
    given = dict(arguments or {})
    error: ZavaError | None = None
    text = ""
    try:
        if spec is None:
            raise InvalidInput(f"Unknown prompt: {name[:64]}", reason="prompt")
        missing = [a.name for a in spec.arguments if a.required and a.name not in given]
        if missing:
            raise InvalidInput(
                f"Missing required arguments: {', '.join(missing)}", reason="arguments"
            )
        try:
            text = spec.render(**given)
        except ValidationError as exc:
            raise _invalid_arguments(exc) from None
    except ZavaError as exc:
        error = exc
    outcome = outcomes.CallOutcome(
        method="prompts/get",
        name=name,
        registered=spec is not None,
        arguments=given,
        duration_ms=_elapsed_ms(started),
        error=error,
    )
    _record_or_refuse(caller, outcome)
    if error is not None or spec is None:
        raise RpcError(types.INVALID_PARAMS, error.message if error else "Unknown prompt.")
    message = types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))
    return types.GetPromptResult(description=spec.description, messages=[message])


# --- completion/complete -----------------------------------------------------------


def complete(caller: Caller, params: types.CompleteRequestParams) -> types.CompleteResult:
    """Suggestions for a prompt's or a resource template's argument, as the caller
    may see them (read in the caller's tenant context)."""
    started = time.perf_counter()
    ref = params.ref
    name = ref.name if isinstance(ref, types.PromptReference) else ref.uri
    chosen = dict((params.context.arguments if params.context else None) or {})
    arguments: dict[str, Any] = {"argument": params.argument.model_dump(mode="json")}
    if params.context is not None:
        arguments["context"] = {"arguments": chosen}
    table = registry()
    registered = table.knows("completion/complete", name)
    error: ZavaError | None = None
    completion = types.Completion(values=[], total=0, hasMore=False)
    try:
        names = _completable(ref, registered)
        checked = checked_input(params.argument, params.context)
        typed = checked.argument.value
        category = ((checked.context.arguments if checked.context else None) or {}).get("category")
        kind = ARGUMENT_KINDS.get(checked.argument.name)
        if kind is not None and checked.argument.name in names:
            found = _as_caller(
                caller, lambda: suggest(kind, typed, category=category), COMPLETION_FAILED
            )
            completion = types.Completion(
                values=found.values, total=found.total, hasMore=found.has_more
            )
    except ZavaError as exc:
        error = exc
    outcome = outcomes.CallOutcome(
        method="completion/complete",
        name=name,
        registered=registered,
        arguments=arguments,
        duration_ms=_elapsed_ms(started),
        error=error,
    )
    _record_or_refuse(caller, outcome)
    if error is not None:
        code = types.INVALID_PARAMS if error.code == ErrorCode.VALIDATION else types.INTERNAL_ERROR
        raise RpcError(code, error.message)
    return types.CompleteResult(completion=completion)


def _completable(
    ref: types.PromptReference | types.ResourceTemplateReference, known: bool
) -> list[str]:
    """The argument names of the prompt or template ``ref`` names; refused if neither."""
    table = registry()
    if isinstance(ref, types.PromptReference):
        if not known:
            raise InvalidInput(f"Unknown prompt: {ref.name[:64]}", reason="ref")
        return table.prompts[ref.name].argument_names
    for template in table.templates:
        if template.uri_template == ref.uri:
            return template.variables
    raise InvalidInput(f"Unknown resource template: {ref.uri[:100]}", reason="ref")


# --- the record --------------------------------------------------------------------


def _record_or_refuse(caller: Caller, outcome: outcomes.CallOutcome) -> None:
    if not outcomes.record(caller, outcome):
        raise RpcError(types.INTERNAL_ERROR, outcomes.UNRECORDED)
