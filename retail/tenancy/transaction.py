"""The tenant transaction: how a store-scoped database transaction is opened and closed.

Only :func:`retail.tenancy.run_as_tenant` opens one in production code (it picks the
alias and rides out lost connections); tests of this module open it directly.
Inside :func:`tenant_transaction`, the connection runs one transaction that is

* read-only, with statement, lock and idle-in-transaction timeouts;
* switched to the restricted tenant role, with ``search_path`` set to ``retail``;
* carrying the manager's identity in ``app.current_rls_user_id`` together with
  ``app.rls_context_proof``, an HMAC that binds the identity to this backend and this
  transaction (see migration 0002). Row-level security trusts only the pair. The
  key is the current one of :mod:`retail.signing_keys`, which ``rotate_keys`` replaces
  (on a read replica, the current one the replica has: :mod:`retail.replicas`).

Every setting is transaction-local (``set_config(..., true)``) and the transaction
always rolls back, so nothing survives on the pooled connection. The transaction is
this module's own, not Django's: it sends ``BEGIN`` together with its first query (one
round trip, where Django's ``atomic`` costs two) and ends it on every way out, so
Django's ``transaction.atomic`` cannot be used inside it (psycopg refuses to change
``autocommit`` mid-transaction); tenant work only reads and needs no savepoints. No identity means
an empty identity: the policies then show no tenant rows (fail closed).

**The drift check.** When the work returns, the session is asked whether its role,
``search_path``, identity, proof and read-only mode are still the ones set here, in
the same round trip as the ``ROLLBACK`` (:data:`_DRIFT_SQL`). Nothing the SQL guard
accepts can change them, but a function, an extension or a bug could; if one did, the
answer may have been read as someone else. It is then dropped, the connection is
closed rather than given back to the pool, and the call fails closed with
:class:`TenantContextDrift`. Work that returns from an aborted transaction (it caught
a database error) cannot be checked and fails the same way.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

from asgiref.local import Local
from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg.pq import TransactionStatus

from retail.errors import InternalFailure
from retail.replicas import replica_signing_key
from retail.signing_keys import current_key

logger = logging.getLogger(__name__)

TENANT_DB_ALIAS = "tenant"
IDENTITY_SETTING = "app.current_rls_user_id"
PROOF_SETTING = "app.rls_context_proof"
SEARCH_PATH = "retail, public"

# The backend is asked, not the client library: behind a transaction-mode pooler
# (PgBouncer) the pid psycopg learnt at connect time is the pooler's, and each
# transaction may run on another server connection.
_BEGIN_AND_START_SQL = (
    "BEGIN; "
    "SELECT pg_backend_pid(), (extract(epoch FROM transaction_timestamp()) * 1000000)::bigint"
)
_ENTER_SQL = f"""
SELECT set_config('{IDENTITY_SETTING}', %s, true),
       set_config('{PROOF_SETTING}', %s, true),
       set_config('statement_timeout', %s, true),
       set_config('lock_timeout', %s, true),
       set_config('idle_in_transaction_session_timeout', %s, true),
       set_config('search_path', %s, true),
       set_config('role', %s, true),
       set_config('transaction_read_only', 'on', true)
"""
# True only while the session is exactly what _ENTER_SQL made it. current_user is the
# role in effect (SET ROLE, RESET ROLE, set_config('role') all move it).
_DRIFT_SQL = f"""
SELECT current_user = %s
   AND current_setting('search_path') = %s
   AND current_setting('{IDENTITY_SETTING}', true) = %s
   AND current_setting('{PROOF_SETTING}', true) = %s
   AND current_setting('transaction_read_only') = 'on'
"""
_DRIFT_MESSAGE = "The request could not be answered safely; the incident has been logged."


class TenantContextError(RuntimeError):
    """Programming error: tenant queries outside a context, or nested contexts."""


class TenantContextDrift(InternalFailure):
    """The work moved the session's role, search_path or identity: its answer is void."""


@dataclass
class TenantContext:
    """An open tenant transaction; :func:`retail.tenancy.tenant_cursor` queries in it.

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


# The context open on this thread, kept the way Django keeps its connections (per
# thread, and per coroutine's thread-sensitive hop), not on a connection object.
_open = Local()


def sign_identity(key: bytes, manager_id: UUID, backend_pid: int, transaction_start: int) -> str:
    """The proof ``retail.visible_store_ids()`` recomputes in SQL."""
    message = f"{manager_id}:{backend_pid}:{transaction_start}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def active_context() -> TenantContext | None:
    """The context open on this thread, if any (on the primary or on a read replica)."""
    return getattr(_open, "context", None)


def require_context() -> TenantContext:
    context = active_context()
    if context is None:
        raise TenantContextError("Tenant queries must run inside run_as_tenant().")
    return context


def _signing_key(using: str) -> bytes:
    """The current key of the primary, or on a read replica the one the replica showed
    last, which it is sure to accept even while it lags behind a rotation."""
    if using != TENANT_DB_ALIAS and using in settings.ZAVA_REPLICA_ALIASES:
        return replica_signing_key(using)
    return current_key(using)


@contextmanager
def tenant_transaction(
    manager_id: UUID | None,
    *,
    using: str = TENANT_DB_ALIAS,
    statement_timeout_ms: int | None = None,
) -> Iterator[TenantContext]:
    """Open a read-only, store-scoped transaction for ``manager_id`` on ``using``
    (``tenant`` on the primary, or a read replica's alias: the context only reads and
    sets transaction-local settings, which a hot standby allows), and check on the way
    out that the work left the session as it found it."""
    connection = connections[using]
    if active_context() is not None:
        raise TenantContextError("A tenant context is already open on this thread.")
    if connection.in_atomic_block:
        # The closing ROLLBACK must end the transaction this function began.
        raise TenantContextError("A tenant context must not open inside a transaction.")
    timeout = statement_timeout_ms or settings.ZAVA_QUERY_TIMEOUT_MS
    role = settings.ZAVA_DB_ROLES["tenant"]
    failed_check = ""
    # Django keeps the connection in autocommit mode and so sends no BEGIN of its own:
    # this function begins the transaction and always ends it.
    connection.ensure_connection()
    raw = connection.connection
    assert raw is not None
    with connection.wrap_database_errors:
        # BEGIN and the start in one round trip (one simple-protocol query).
        begun = raw.execute(_BEGIN_AND_START_SQL)
        begun.nextset()
        backend_pid, transaction_start = begun.fetchone()
    try:
        identity = proof = ""
        if manager_id is not None:
            identity = str(manager_id)
            proof = sign_identity(_signing_key(using), manager_id, backend_pid, transaction_start)
        with connection.cursor() as cursor:
            cursor.execute(
                _ENTER_SQL,
                [
                    identity,
                    proof,
                    f"{timeout}ms",
                    f"{settings.ZAVA_LOCK_TIMEOUT_MS}ms",
                    f"{settings.ZAVA_IDLE_IN_TRANSACTION_TIMEOUT_MS}ms",
                    SEARCH_PATH,
                    role,
                ],
            )
        context = TenantContext(
            manager_id=manager_id,
            alias=using,
            backend_pid=backend_pid,
            statement_timeout_ms=timeout,
        )
        _open.context = context
        try:
            yield context
            # Read-only work has nothing to commit; rolling back also discards any
            # session-level setting a query may have tried to leave behind.
            failed_check = _check_then_roll_back(connection, [role, SEARCH_PATH, identity, proof])
        finally:
            _open.context = None
    finally:
        _roll_back_if_open(connection)
    if failed_check:
        logger.error("tenant context on %s failed closed: %s", using, failed_check)
        _discard(connection)
        raise TenantContextDrift(_DRIFT_MESSAGE)


def _check_then_roll_back(connection: BaseDatabaseWrapper, expected: list[str]) -> str:
    """Why the session cannot be vouched for ("" when it is still ``expected``); the
    transaction is over by the time it answers. The check and the ``ROLLBACK`` share
    one round trip (one pipeline sync), so the check costs no round trip of its own;
    Django's own rollback afterwards finds the transaction over and sends nothing."""
    raw = connection.connection
    assert raw is not None  # the transaction above opened it
    if raw.info.transaction_status == TransactionStatus.INERROR:
        return "the work returned from an aborted transaction"
    with raw.cursor() as check:
        try:
            # Django's wrapper, so that a lost connection reads as one to the retry.
            with connection.wrap_database_errors, raw.pipeline():
                check.execute(_DRIFT_SQL, expected)
                raw.execute("ROLLBACK")
        except DatabaseError:
            if raw.broken or raw.closed:
                raise  # a lost connection: run_as_tenant runs the work again
            logger.exception("the drift check failed")
            return "the drift check failed"
        row = check.fetchone()
    return "" if row and row[0] else "the role, search_path or identity drifted"


def _roll_back_if_open(connection: BaseDatabaseWrapper) -> None:
    """End the transaction if the work left it open (it raised): ROLLBACK, or, if even
    that fails, close the connection so that no pool hands out a half-used session."""
    raw = connection.connection
    if raw is None or raw.closed or raw.info.transaction_status == TransactionStatus.IDLE:
        return
    try:
        raw.execute("ROLLBACK")
    except Exception:  # the connection is unusable; whatever raised first is what counts
        logger.warning("could not roll back a tenant transaction; closing its connection")
        _discard(connection)


def _discard(connection: BaseDatabaseWrapper) -> None:
    """Close the connection so that no pool hands it out again (a closed connection
    given back to psycopg's pool is thrown away and replaced)."""
    if connection.connection is not None:
        connection.connection.close()
    connection.close()
