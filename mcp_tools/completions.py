"""``completion/complete``: suggestions for prompt and resource-template arguments.

Arguments complete by what they name (``store``, ``period``, ``category``, ...), from
:mod:`retail.services.completions`, read in the caller's tenant context on the
request thread like a resource read, so a store manager is only ever offered their
own store. What the client typed is checked first, as a tool's or a prompt's
arguments are (:class:`CompletionInput`), so text no UTF-8 can hold (a lone surrogate)
is an invalid-params answer naming the field, never an internal error. The endpoint
audits every request like a prompt or a resource read.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated

from mcp import types
from pydantic import BaseModel, Field, ValidationError

from mcp_tools import sdk_adapter
from mcp_tools.formatting import validation_summary
from mcp_tools.invocation import in_caller_context_from_sdk
from retail.errors import InvalidInput
from retail.services.completions import Suggest, suggest

ARGUMENT_KINDS = {kind.value: kind for kind in Suggest}
TEMPLATE_VARIABLE = re.compile(r"{([^}]+)}")
FAILED = "Suggestions could not be read; the incident has been logged."

Reference = types.PromptReference | types.ResourceTemplateReference

# Longer than any prompt or template argument takes (a product description: 500).
Name = Annotated[str, Field(max_length=64)]
Text = Annotated[str, Field(max_length=1_000)]


class ArgumentInput(BaseModel):
    name: Name
    value: Text


class ContextInput(BaseModel):
    arguments: dict[Name, Text] | None = None


class CompletionInput(BaseModel):
    """The strings of a completion request, checked by pydantic's string validation as
    the tools' and prompts' argument models check theirs (the SDK's own models take
    any ``str``). Field paths mirror the request: ``context.arguments.category``."""

    argument: ArgumentInput
    context: ContextInput | None = None


def argument_names(ref: Reference) -> list[str]:
    """The arguments of the prompt or resource template ``ref`` names.

    Raises ValueError (an ``invalid params`` answer) when it names neither.
    """
    if isinstance(ref, types.PromptReference):
        if sdk_adapter.prompt_exists(ref.name):
            return sdk_adapter.prompt_argument_names(ref.name)
        raise ValueError(f"Unknown prompt: {ref.name[:64]}")
    if ref.uri in sdk_adapter.registered_resource_templates():
        return TEMPLATE_VARIABLE.findall(ref.uri)
    raise ValueError(f"Unknown resource template: {ref.uri[:100]}")


async def complete(
    ref: Reference,
    argument: types.CompletionArgument,
    context: types.CompletionContext | None,
) -> types.Completion:
    names = argument_names(ref)
    checked = checked_input(argument, context)
    kind = ARGUMENT_KINDS.get(checked.argument.name)
    if kind is None or checked.argument.name not in names:
        return types.Completion(values=[], total=0, hasMore=False)
    chosen = (checked.context.arguments if checked.context else None) or {}
    typed = checked.argument.value
    found = await in_caller_context_from_sdk(
        partial(suggest, kind, typed, category=chosen.get("category")), failure=FAILED
    )
    return types.Completion(values=found.values, total=found.total, hasMore=found.has_more)


def checked_input(
    argument: types.CompletionArgument, context: types.CompletionContext | None
) -> CompletionInput:
    """The request's argument and context, or InvalidInput naming what is wrong."""
    try:
        return CompletionInput.model_validate(
            {
                "argument": argument.model_dump(),
                "context": context.model_dump() if context else None,
            }
        )
    except ValidationError as exc:
        raise InvalidInput(
            f"Invalid completion request: {validation_summary(exc)}", reason="arguments"
        ) from None


def register() -> None:
    sdk_adapter.set_completion_handler(complete)
