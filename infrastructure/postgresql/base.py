"""Django's PostgreSQL backend, with a pool check that costs no round trip.

Django's pooled connections are checked with an empty query each time a request
takes one from the pool (``CONN_HEALTH_CHECKS``): a round trip to the server before
every request's first statement, on each of the two aliases a tool call uses. A
connection that sat idle in the pool can only have gone bad in one way we can see
without asking the server: the server closed it or wrote to it (a terminated
backend, a restart, a shutdown all send an error and close the socket), which makes
the socket readable. :func:`check_idle_connection` looks at exactly that. A
connection lost silently (a network partition) still fails on first use, and the
reads that can run again do (``retail.tenancy.run_as_tenant``).
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base as postgresql
from psycopg.pq import ConnStatus
from psycopg_pool import ConnectionPool


def check_idle_connection(connection: psycopg.Connection[Any]) -> None:
    """Refuse a pooled connection that is closed or that the server wrote to while idle.

    An idle connection in this application gets nothing unasked (it never LISTENs), so
    anything waiting on the socket is the server saying goodbye, or at worst a notice
    that costs a reconnect. The pool discards a refused connection and takes another.
    """
    pgconn = connection.pgconn
    if connection.closed or pgconn.status != ConnStatus.OK:
        raise psycopg.OperationalError("the pooled connection is closed")
    poller = select.poll()  # not select.select: it fails on descriptors past 1023
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):
        connection.close()  # so that the pool discards it instead of handing it out again
        raise psycopg.OperationalError("the server closed or wrote to an idle pooled connection")


# django-stubs do not declare the pool registry and the configure hook that Django's own
# pool property uses; this subclass uses them the same way.
class DatabaseWrapper(postgresql.DatabaseWrapper):
    _connection_pools: dict[str, ConnectionPool]
    _configure_connection: Any

    @property
    def pool(self) -> ConnectionPool | None:
        """Django's pool for this alias, made the way Django makes it but checked by
        :func:`check_idle_connection`."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            pool = ConnectionPool(
                kwargs={**self.get_connection_params(), "autocommit": True},
                open=False,  # opened on first use, as Django does
                configure=self._configure_connection,
                check=check_idle_connection,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)  # first thread wins
        return self._connection_pools[self.alias]
