"""The reference's compact JSON answers, and its error shape.

Success: ``{"c": [columns], "r": [[row], ...], "n": rows}``; an empty answer adds
``"msg": "No rows"``; a capped answer adds ``"truncated": true`` and a message.
Error: ``{"err": message, "code": stable code, "c": [], "r": [], "n": 0}``, plus
``"q"`` with the SQL for ``execute_sales_query`` as the reference does.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from retail.errors import ZavaError
from retail.tenancy import QueryResult


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
