"""The tenant context: the one place that opens a store-scoped database transaction.

Inside :func:`tenant_context`, the ``tenant`` connection runs one transaction that is

* read-only, with statement, lock and idle-in-transaction timeouts;
* switched to the restricted tenant role, with ``search_path`` set to ``retail``;
* carrying the manager's identity in ``app.current_rls_user_id`` together with
  ``app.rls_context_proof``, an HMAC that binds the identity to this backend and this
  transaction (see migration 0002). Row-level security trusts only the pair. The
  key is the current one of :mod:`retail.signing_keys`, which ``rotate_keys`` replaces
  (on a read replica, the current one the replica has: :mod:`retail.replicas`).

Every setting is transaction-local (``set_config(..., true)``) and the transaction
always rolls back, so nothing survives on the pooled connection. No identity means
an empty identity: the policies then show no tenant rows (fail closed).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from retail.replicas import replica_signing_key
from retail.signing_keys import current_key

TENANT_DB_ALIAS = "tenant"
IDENTITY_SETTING = "app.current_rls_user_id"
PROOF_SETTING = "app.rls_context_proof"

# The backend is asked, not the client library: behind a transaction-mode pooler
# (PgBouncer) the pid psycopg learnt at connect time is the pooler's, and each
# transaction may run on another server connection.
_TRANSACTION_START_SQL = (
    "SELECT pg_backend_pid(), (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint"
)
_ENTER_SQL = f"""
SELECT set_config('{IDENTITY_SETTING}', %s, true),
       set_config('{PROOF_SETTING}', %s, true),
       set_config('statement_timeout', %s, true),
       set_config('lock_timeout', %s, true),
       set_config('idle_in_transaction_session_timeout', %s, true),
       set_config('search_path', 'retail, public', true),
       set_config('role', %s, true),
       set_config('transaction_read_only', 'on', true)
"""


class TenantContextError(RuntimeError):
    """Programming error: tenant queries outside a context, or nested contexts."""


@dataclass
class TenantContext:
    """An open tenant transaction. Use :meth:`cursor` for tenant queries.

    ``cache_scope`` is the answer cache's memo of this transaction's scope key
    (:mod:`retail.services.answer_cache`): it lives and dies with the context.
    """

    manager_id: UUID | None
    alias: str
    backend_pid: int
    statement_timeout_ms: int
    cache_scope: str | None = None

    @property
    def connection(self) -> BaseDatabaseWrapper:
        return connections[self.alias]

    def cursor(self):
        return self.connection.cursor()


def sign_identity(key: bytes, manager_id: UUID, backend_pid: int, transaction_start: int) -> str:
    """The proof ``retail.visible_store_ids()`` recomputes in SQL."""
    message = f"{manager_id}:{backend_pid}:{transaction_start}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def active_context() -> TenantContext | None:
    """The context open on this thread, if any (on the primary or on a read replica).

    It is kept on the thread's ``tenant`` connection object whichever alias it runs
    on, so finding it costs the same with or without replicas.
    """
    return getattr(connections[TENANT_DB_ALIAS], "zava_tenant_context", None)


def require_context() -> TenantContext:
    context = active_context()
    if context is None:
        raise TenantContextError("Tenant queries must run inside tenant_context().")
    return context


def _signing_key(using: str) -> bytes:
    """The current key of the primary, or on a read replica the one the replica showed
    last, which it is sure to accept even while it lags behind a rotation."""
    if using != TENANT_DB_ALIAS and using in settings.ZAVA_REPLICA_ALIASES:
        return replica_signing_key(using)
    return current_key(using)


@contextmanager
def tenant_context(
    manager_id: UUID | None,
    *,
    using: str = TENANT_DB_ALIAS,
    statement_timeout_ms: int | None = None,
) -> Iterator[TenantContext]:
    """Open a read-only, store-scoped transaction for ``manager_id`` on ``using``
    (``tenant`` on the primary, or a read replica's alias: the context only reads and
    sets transaction-local settings, which a hot standby allows)."""
    connection = connections[using]
    slot = connections[TENANT_DB_ALIAS]
    if active_context() is not None:
        raise TenantContextError("A tenant context is already open on this thread.")
    timeout = statement_timeout_ms or settings.ZAVA_QUERY_TIMEOUT_MS
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            # Two round trips: psycopg's BEGIN, then the start. (In pipeline mode
            # psycopg syncs after BEGIN, and fetching needs a second sync: three.)
            cursor.execute(_TRANSACTION_START_SQL)
            backend_pid, transaction_start = cursor.fetchone()
            identity = proof = ""
            if manager_id is not None:
                identity = str(manager_id)
                proof = sign_identity(
                    _signing_key(using), manager_id, backend_pid, transaction_start
                )
            cursor.execute(
                _ENTER_SQL,
                [
                    identity,
                    proof,
                    f"{timeout}ms",
                    f"{settings.ZAVA_LOCK_TIMEOUT_MS}ms",
                    f"{settings.ZAVA_IDLE_IN_TRANSACTION_TIMEOUT_MS}ms",
                    settings.ZAVA_DB_ROLES["tenant"],
                ],
            )
        context = TenantContext(
            manager_id=manager_id,
            alias=using,
            backend_pid=backend_pid,
            statement_timeout_ms=timeout,
        )
        slot.zava_tenant_context = context
        try:
            yield context
        finally:
            slot.zava_tenant_context = None
            # Read-only work has nothing to commit; rolling back also discards any
            # session-level setting a query may have tried to leave behind.
            transaction.set_rollback(True, using=using)
