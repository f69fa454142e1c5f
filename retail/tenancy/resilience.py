"""Where and how often tenant work runs: replica choice, the lost-connection retry,
and fast failure when the database is down. :func:`run_as_tenant` is the one entry.

A lost connection (server restart, network blip) is retried with a short backoff on
a fresh connection from the pool. The data layer reports it as a value, the typed
:class:`~retail.tenancy.queries.ConnectionLost` error its one tenant-SQL path raises;
Django's own errors on the same connection are classified the same way. When the
pool cannot hand out a connection at all within its timeout, the database is down:
that is reported at once as :class:`DatabaseDown`, not retried, so clients get a
prompt, clean error (503 with ``Retry-After`` over HTTP) and the server recovers by
itself when the database is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar
from uuid import UUID

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections, router
from psycopg.errors import SerializationFailure
from psycopg_pool import PoolTimeout

from retail.errors import DatabaseFailure, ServiceUnavailable, ZavaError
from retail.models import Store
from retail.replicas import replica_failed
from retail.tenancy.queries import ConnectionLost, database_error
from retail.tenancy.transaction import TENANT_DB_ALIAS, tenant_transaction

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE of a standby query cancelled because WAL replay needed what it read.
RECOVERY_CONFLICT = SerializationFailure.sqlstate


class DatabaseDown(ServiceUnavailable):
    """No connection could be had at all: answer 503 now, do not retry."""


def database_down(exc: BaseException | None) -> bool:
    """True when no connection could be had at all (as opposed to one being lost)."""
    while exc is not None:
        if isinstance(exc, PoolTimeout | DatabaseDown):
            return True
        exc = exc.__cause__
    return False


def connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` says the connection broke, so the read may run again."""
    if isinstance(exc, ConnectionLost | InterfaceError):
        return True
    if isinstance(exc, DatabaseError) and isinstance(exc.__cause__, psycopg.Error):
        return isinstance(database_error(exc.__cause__), ConnectionLost)
    return False


def retry_on_connection_loss(work: Callable[[], T]) -> T:
    """Run read-only ``work`` again (up to ZAVA_DB_RETRY_ATTEMPTS) after a lost connection.

    Raises :class:`DatabaseDown` when no connection can be had; after the last
    attempt, the last error as it was.
    """
    attempts = settings.ZAVA_DB_RETRY_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except (DatabaseError, InterfaceError, ConnectionLost) as exc:
            if database_down(exc):
                raise DatabaseDown("The database is unavailable right now; retry shortly.") from exc
            if not connection_lost(exc) or attempt == attempts:
                raise
            logger.warning("database connection lost (%s); retrying", type(exc).__name__)
        for alias in (DEFAULT_DB_ALIAS, TENANT_DB_ALIAS):
            connections[alias].close_if_unusable_or_obsolete()
        time.sleep(settings.ZAVA_DB_RETRY_BACKOFF_MS / 1000 * 3 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover


# Read once: replicas come with the process's settings, and without any the hot path
# pays no settings lookup for them.
_REPLICAS_CONFIGURED = bool(settings.ZAVA_REPLICA_ALIASES)


def tenant_read_alias() -> str:
    """Where this tenant read runs: a read replica the router picks, else the primary."""
    if not _REPLICAS_CONFIGURED:
        return TENANT_DB_ALIAS
    # Tenant SQL reads the retail tables; Store stands for them all.
    return router.db_for_read(Store, tenant_read=TENANT_DB_ALIAS)


def replica_gone(exc: BaseException) -> bool:
    """True when a read failed because of its replica (down, restarting, or a query
    cancelled by a conflict with WAL replay): the primary can answer it instead."""
    if database_down(exc) or connection_lost(exc):
        return True
    if isinstance(exc, DatabaseFailure):
        return exc.reason == RECOVERY_CONFLICT
    return isinstance(exc, DatabaseError) and isinstance(exc.__cause__, SerializationFailure)


def run_as_tenant(
    manager_id: UUID | None,
    work: Callable[[], T],
    *,
    statement_timeout_ms: int | None = None,
) -> T:
    """``work()`` as ``manager_id``, in a tenant transaction of its own: the one way
    anything reads tenant data. ``None`` is no identity, which sees no tenant rows.

    It runs on a read replica when one is usable, and again on a fresh connection if
    the connection is lost (tenant work only reads). A read whose replica fails runs
    again on the primary at once, and the replica is skipped until its monitor finds
    it usable again. A connection still lost after the last attempt is
    :class:`ConnectionLost`; no connection at all is :class:`DatabaseDown`; work that
    moved the session's identity is :class:`~retail.tenancy.TenantContextDrift`.
    """

    def attempt() -> T:
        alias = tenant_read_alias()
        if alias != TENANT_DB_ALIAS:
            try:
                with tenant_transaction(
                    manager_id, using=alias, statement_timeout_ms=statement_timeout_ms
                ):
                    return work()
            except (DatabaseError, InterfaceError, ZavaError) as exc:
                if not replica_gone(exc):
                    raise
                logger.warning("read replica %s failed (%s); reading from the primary",
                               alias, type(exc).__name__)  # fmt: skip
                replica_failed(alias)
                connections[alias].close_if_unusable_or_obsolete()
        with tenant_transaction(manager_id, statement_timeout_ms=statement_timeout_ms):
            return work()

    try:
        return retry_on_connection_loss(attempt)
    except (DatabaseError, InterfaceError) as exc:
        if connection_lost(exc):
            raise ConnectionLost(
                "The database is not reachable right now. Try again shortly."
            ) from exc
        raise
