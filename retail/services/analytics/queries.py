"""Running the analytics' own SQL as the tenant, inside the caller's open context.

Only fixed statements with bound parameters run here, through the data layer's one
tenant-SQL path (:func:`retail.tenancy.tenant_cursor`), so row-level security
decides what every aggregate includes and database errors become the same typed,
client-safe errors as model-written queries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.rows import dict_row

from retail.tenancy import tenant_cursor


def fetch(sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """All rows of ``sql`` as dicts, read in the caller's tenant context."""
    with tenant_cursor(row_factory=dict_row) as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()
