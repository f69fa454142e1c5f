"""Tenancy: how anything reads tenant data, as one manager, under row-level security.

* :func:`run_as_tenant` is the one entry: it picks a read replica or the primary,
  opens the tenant transaction there with the signed identity
  (:mod:`.transaction`), runs the work, checks that the session did not drift, and
  rides out a lost connection (:mod:`.resilience`). Nothing else opens a tenant
  context.
* Inside it, :func:`tenant_cursor` is the only cursor, :func:`run_select` runs a
  checked model-written SELECT, and ``database_error`` is the only translation of
  PostgreSQL's errors into client-safe ones (:mod:`.queries`).
* Tests that look inside the bare transaction import :mod:`.transaction` itself.
"""

from retail.tenancy.queries import (
    JsonValue,
    QueryResult,
    run_select,
    tenant_cursor,
    to_json_value,
)
from retail.tenancy.resilience import DatabaseDown, retry_on_connection_loss, run_as_tenant
from retail.tenancy.transaction import (
    TENANT_DB_ALIAS,
    TenantContextDrift,
    active_context,
    require_context,
)

__all__ = [
    "TENANT_DB_ALIAS",
    "DatabaseDown",
    "JsonValue",
    "QueryResult",
    "TenantContextDrift",
    "active_context",
    "require_context",
    "retry_on_connection_loss",
    "run_as_tenant",
    "run_select",
    "tenant_cursor",
    "to_json_value",
]
