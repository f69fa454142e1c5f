"""Model fields for columns whose reference types Django does not produce itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db import models


class TimestampField(models.DateTimeField):
    """``timestamp without time zone``, as the reference declares, holding UTC.

    Django makes ``timestamptz`` when ``USE_TZ`` is on; queries written for the
    reference expect plain ``timestamp``. Values go in as naive UTC and come back
    aware, so the admin and templates treat them like any other datetime.
    """

    def db_type(self, connection: Any) -> str:
        return "timestamp"

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def from_db_value(self, value: datetime | None, expression: Any, connection: Any) -> Any:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
