"""Writing the audit of tool calls.

One INSERT per call on the owner connection, committed asynchronously
(``synchronous_commit`` off for that transaction only): an audit row costs no disk
flush on the request path, and a crash can lose at most the last few rows.
"""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import UUID

from django.db import DEFAULT_DB_ALIAS, connections

MAX_ARGUMENT_CHARS = 4_000

_INSERT = """
WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true))
INSERT INTO audit_tool_calls
    (manager_id, token_id, tool, arguments, outcome, error_code, rows, duration_ms,
     request_id, created_at)
SELECT %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, now() FROM async_commit
"""


def tool_call_record(
    *,
    manager_id: UUID | None,
    token_id: int | None,
    tool: str,
    arguments: dict[str, Any],
    outcome: str,
    error_code: str = "",
    rows: int | None = None,
    duration_ms: float | None = None,
    request_id: str = "",
) -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                manager_id,
                token_id,
                tool[:100],
                json.dumps(_truncated(arguments)),
                outcome,
                error_code[:40],
                rows,
                duration_ms,
                request_id[:64],
            ],
        )


def _truncated(arguments: dict[str, Any]) -> dict[str, Any]:
    """Arguments as jsonb can store them, long strings (SQL, search text) cut short."""
    return {_clean(str(key))[:100]: _storable(value) for key, value in arguments.items()}


def _storable(value: Any) -> Any:
    if isinstance(value, str):
        value = _clean(value)
        return value if len(value) <= MAX_ARGUMENT_CHARS else value[:MAX_ARGUMENT_CHARS] + "…"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # jsonb has no NaN or Infinity
    if isinstance(value, list):
        return [_storable(item) for item in value]
    if isinstance(value, dict):
        return _truncated(value)
    return value


def _clean(text: str) -> str:
    """jsonb refuses NUL; without this, a query with a NUL would escape the audit."""
    return text.replace("\x00", "\\0")
