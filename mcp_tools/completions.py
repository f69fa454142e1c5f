"""``completion/complete``: suggestions for prompt and resource-template arguments.

Arguments complete by what they name (``store``, ``period``, ``category``, ...), from
:mod:`retail.services.completions`, read in the caller's tenant context on the
request thread like a resource read, so a store manager is only ever offered their
own store. The endpoint audits every request like a prompt or a resource read.
"""

from __future__ import annotations

import re
from functools import partial

from mcp import types

from mcp_tools import sdk_adapter
from mcp_tools.invocation import in_caller_context_from_sdk
from retail.services.completions import Suggest, suggest

ARGUMENT_KINDS = {kind.value: kind for kind in Suggest}
TEMPLATE_VARIABLE = re.compile(r"{([^}]+)}")
FAILED = "Suggestions could not be read; the incident has been logged."

Reference = types.PromptReference | types.ResourceTemplateReference


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
    kind = ARGUMENT_KINDS.get(argument.name)
    if kind is None or argument.name not in names:
        return types.Completion(values=[], total=0, hasMore=False)
    chosen = (context.arguments if context else None) or {}
    found = await in_caller_context_from_sdk(
        partial(suggest, kind, argument.value, category=chosen.get("category")), failure=FAILED
    )
    return types.Completion(values=found.values, total=found.total, hasMore=found.has_more)


def register() -> None:
    sdk_adapter.set_completion_handler(complete)
