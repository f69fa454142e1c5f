"""What a tool handler returns: content for the client, and facts for the pipeline.

Handlers know things only they can tell (how many rows, the SQL guard's fingerprint
of the query they ran, whether the answer came from the cache); they return them here
beside the content, and :mod:`mcp_tools.pipeline` writes them to the audit, the log
and the metrics. Nothing travels beside the call in a context variable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcp import types


@dataclass
class ToolAnswer:
    content: list[types.ContentBlock]
    rows: int | None = None
    structured: dict[str, Any] | None = field(default=None)
    fingerprint: str | None = None  # the guard's, for the SQL the tool ran
    cache_hit: bool | None = None  # None: the tool has no cache


def text_answer(text: str, rows: int | None = None, **facts: Any) -> ToolAnswer:
    return ToolAnswer(content=[types.TextContent(type="text", text=text)], rows=rows, **facts)
