"""Running the analytics' own SQL as the tenant, inside the caller's open context.

Only fixed statements with bound parameters run here, on the connection the tenant
context opened, so row-level security decides what every aggregate includes.
Database errors become the same typed, client-safe errors as model-written queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.rows import dict_row

from retail.tenancy import require_context
from retail.tenant_queries import database_error


def fetch(sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """All rows of ``sql`` as dicts, read in the caller's tenant context."""
    raw = require_context().connection.connection
    try:
        with raw.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params or {})
            return cursor.fetchall()
    except psycopg.Error as exc:
        raise database_error(exc) from exc
