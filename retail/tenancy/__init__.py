"""Tenancy: how anything reads tenant data, as one manager, under row-level security.

* :func:`run_as_tenant` is the one entry: it picks a read replica or the primary,
  opens the tenant transaction there with the signed identity
  (:mod:`.transaction`), runs the work, checks that the session did not drift, and
  rides out a lost connection (:mod:`.resilience`). Nothing else opens a tenant
  context.
* Inside it, :func:`tenant_cursor` is the only cursor, :func:`run_select` runs a
  checked model-written SELECT, and :func:`database_error` is the only translation of
  PostgreSQL's errors into client-safe ones (:mod:`.queries`).
"""

from retail.tenancy.queries import (
    ConnectionLost,
    JsonValue,
    QueryResult,
    database_error,
    run_select,
    tenant_cursor,
    to_json_value,
)
from retail.tenancy.resilience import (
    DatabaseDown,
    connection_lost,
    database_down,
    retry_on_connection_loss,
    run_as_tenant,
)
from retail.tenancy.transaction import (
    IDENTITY_SETTING,
    PROOF_SETTING,
    TENANT_DB_ALIAS,
    TenantContext,
    TenantContextDrift,
    TenantContextError,
    active_context,
    require_context,
    sign_identity,
)

__all__ = [
    "IDENTITY_SETTING",
    "PROOF_SETTING",
    "TENANT_DB_ALIAS",
    "ConnectionLost",
    "DatabaseDown",
    "JsonValue",
    "QueryResult",
    "TenantContext",
    "TenantContextDrift",
    "TenantContextError",
    "active_context",
    "connection_lost",
    "database_down",
    "database_error",
    "require_context",
    "retry_on_connection_loss",
    "run_as_tenant",
    "run_select",
    "sign_identity",
    "tenant_cursor",
    "to_json_value",
]
