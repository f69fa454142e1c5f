"""Typed errors with stable codes, shared by every layer.

Services and the data layer raise these; the protocol layer turns them into the
reference's ``{"err": ...}`` answers. The ``code`` is a contract: logs, tests and
clients key on it, never on the wording. Messages must be safe to show a client:
no SQL internals, connection details or stack traces.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    AUTHORIZATION = "authorization_error"
    TIMEOUT = "timeout"
    DATABASE = "database_error"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal_error"


class ZavaError(Exception):
    """Base of every error a client may see."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # A finer, stable sub-code (for example a SQL guard refusal reason).
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        data = {"code": str(self.code), "message": self.message}
        if self.reason:
            data["reason"] = self.reason
        return data


class InvalidInput(ZavaError):
    code = ErrorCode.VALIDATION


class NotAuthorized(ZavaError):
    code = ErrorCode.AUTHORIZATION


class QueryTimeout(ZavaError):
    code = ErrorCode.TIMEOUT


class DatabaseFailure(ZavaError):
    code = ErrorCode.DATABASE


class ServiceUnavailable(ZavaError):
    code = ErrorCode.UNAVAILABLE


class InternalFailure(ZavaError):
    code = ErrorCode.INTERNAL
