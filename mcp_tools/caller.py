"""Who is calling: set once per request (or per stdio session), read by the tools.

The identity comes from the authenticated token (or the local operator for stdio),
never from anything the client or the model can write.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class Caller:
    manager_id: UUID
    token_id: int | None
    request_id: str
    transport: str = "http"


current_caller: ContextVar[Caller | None] = ContextVar("zava_caller", default=None)
