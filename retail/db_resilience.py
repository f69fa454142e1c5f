"""Riding out database restarts: retry idempotent work on connection loss, fail fast
when the database is down.

A lost connection (server restart, network blip) is retried with a short backoff on
a fresh connection from the pool. When the pool cannot hand out a connection at all
within its timeout, the database is down: that is reported at once, not retried, so
clients get a prompt, clean error and the server recovers by itself when the
database is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections
from psycopg_pool import PoolTimeout

from retail.tenancy import TENANT_DB_ALIAS

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOST_FLAG = "zava_connection_lost"


def database_down(exc: BaseException) -> bool:
    """True when no connection could be had at all (as opposed to one being lost)."""
    while exc is not None:
        if isinstance(exc, PoolTimeout):
            return True
        exc = exc.__cause__
    return False


def mark_connection_lost(alias: str = TENANT_DB_ALIAS) -> None:
    """Called by the data layer when a query failed because its connection broke."""
    setattr(connections[alias], LOST_FLAG, True)


def take_connection_lost(alias: str = TENANT_DB_ALIAS) -> bool:
    connection = connections[alias]
    lost = getattr(connection, LOST_FLAG, False)
    setattr(connection, LOST_FLAG, False)
    return lost


def retry_on_connection_loss(
    work: Callable[[], T], *, lost: Callable[[T], bool] = lambda result: False
) -> T:
    """Run idempotent ``work`` again (up to ZAVA_DB_RETRY_ATTEMPTS) after a lost connection.

    ``lost(result)`` tells whether work that returned normally still met a broken
    connection (tools turn errors into answers instead of raising).
    """
    attempts = settings.ZAVA_DB_RETRY_ATTEMPTS
    for attempt in range(1, attempts + 1):
        try:
            result = work()
        except (DatabaseError, InterfaceError) as exc:
            if database_down(exc) or attempt == attempts:
                raise
            logger.warning("database connection lost (%s); retrying", type(exc).__name__)
        else:
            if not lost(result) or attempt == attempts:
                return result
            logger.warning("a query lost its database connection; retrying the request")
        for alias in (DEFAULT_DB_ALIAS, TENANT_DB_ALIAS):
            connections[alias].close_if_unusable_or_obsolete()
        time.sleep(settings.ZAVA_DB_RETRY_BACKOFF_MS / 1000 * 3 ** (attempt - 1))
    raise AssertionError("unreachable")  # pragma: no cover
