"""Pooled connections are checked without a round trip, and a dead one is never handed out."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connection

from infrastructure.postgresql.base import check_idle_connection
from tests.conftest import terminate_backend


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _pooled_connection() -> psycopg.Connection:
    connection.ensure_connection()
    assert connection.pool is not None, "the default alias should be pooled (ZAVA_DB_POOL)"
    return connection.connection


def test_the_pool_checks_with_the_socket_check_and_a_healthy_connection_passes(database):
    raw = _pooled_connection()
    assert connection.pool._check is check_idle_connection  # not Django's empty query
    check_idle_connection(raw)  # does not raise
    assert not raw.closed


def test_a_connection_whose_backend_was_terminated_fails_the_check(database):
    raw = _pooled_connection()
    terminate_backend(raw.info.backend_pid)
    time.sleep(0.2)  # the server's goodbye reaches the socket
    with pytest.raises(psycopg.OperationalError):
        check_idle_connection(raw)
    assert raw.closed  # so the pool discards it rather than handing it out again
    connection.close()


def test_a_terminated_pooled_connection_is_replaced_before_use(database):
    """The next request's first statement runs on a new backend, with no error."""
    first = _backend_pid()
    connection.close()  # back to the pool, as at the end of a request
    terminate_backend(first)
    time.sleep(0.2)
    assert _backend_pid() != first
