"""What a ``completion/complete`` request may ask: checked input, and which kind of
suggestion each argument name gets.

Arguments complete by what they name (``store``, ``period``, ``category``, ...), from
:mod:`retail.services.completions`; :func:`mcp_tools.pipeline.complete` reads them in
the caller's tenant context, so a store manager is only ever offered their own store.
What the client typed is checked first, as a tool's or a prompt's arguments are
(:class:`CompletionInput`), so text no UTF-8 can hold (a lone surrogate) is an
invalid-params answer naming the field, never an internal error.
"""

from __future__ import annotations

from typing import Annotated

from mcp import types
from pydantic import BaseModel, Field, ValidationError

from mcp_tools.answers import validation_summary
from retail.errors import InvalidInput
from retail.services.completions import Suggest

ARGUMENT_KINDS = {kind.value: kind for kind in Suggest}

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
