"""What a tool answers: its content, the facts beside it, and the reference's JSON shapes.

Handlers know things only they can tell (how many rows, the SQL guard's fingerprint
of the query they ran, whether the answer came from the cache); they return them in
a :class:`ToolAnswer` beside the content, and :mod:`mcp_tools.pipeline` hands them to
the audit, the log and the metrics. Nothing travels beside the call in a context
variable.

The content keeps the reference's compact JSON. Success:
``{"c": [columns], "r": [[row], ...], "n": rows}``; an empty answer adds
``"msg": "No rows"``; a capped answer adds ``"truncated": true`` and a message.
Error: ``{"err": message, "code": stable code, "c": [], "r": [], "n": 0}``, plus
``"q"`` with the SQL for ``execute_sales_query`` as the reference does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mcp import types
from pydantic import ValidationError

from retail.errors import ZavaError
from retail.tenancy import QueryResult


@dataclass
class ToolAnswer:
    content: list[types.ContentBlock]
    rows: int | None = None
    structured: dict[str, Any] | None = field(default=None)
    fingerprint: str | None = None  # the guard's, for the SQL the tool ran
    cache_hit: bool | None = None  # None: the tool has no cache


def text_answer(text: str, rows: int | None = None, **facts: Any) -> ToolAnswer:
    return ToolAnswer(content=[types.TextContent(type="text", text=text)], rows=rows, **facts)


def dumps(payload: Any) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def compact_result(result: QueryResult, *, empty_message: str = "No rows") -> str:
    payload: dict[str, Any] = {"c": result.columns, "r": result.rows, "n": len(result.rows)}
    if not result.rows and not result.truncated:
        payload = {"c": [], "r": [], "n": 0, "msg": empty_message}
    if result.truncated:
        payload["truncated"] = True
        limit = "row" if result.truncated_by == "rows" else "size"
        payload["msg"] = (
            f"Result cut at the {limit} limit after {len(result.rows)} rows. "
            "Aggregate or add LIMIT to see what matters."
        )
    return dumps(payload)


def error_payload(error: ZavaError, *, query: str | None = None) -> str:
    payload: dict[str, Any] = {"err": error.message, "code": str(error.code)}
    if error.reason:
        payload["reason"] = error.reason
    if query is not None:
        payload["q"] = query[:2_000]
    payload.update({"c": [], "r": [], "n": 0})
    return dumps(payload)


def validation_summary(exc: ValidationError) -> str:
    """Pydantic's errors as one short line, 'field: problem; field: problem', naming
    each field by its path in the request and never echoing the input."""
    parts = []
    for detail in exc.errors(include_url=False, include_input=False)[:5]:
        location = ".".join(str(p) for p in detail["loc"]) or "arguments"
        parts.append(f"{location[:64]}: {detail['msg']}")
    return "; ".join(parts)
