"""Counting the round trips a request makes to PostgreSQL, from libpq's own trace.

A round trip is one wait for the server: the client sends one or more messages
(``F`` lines of libpq's trace) and then reads the server's answer (``B`` lines).
Statements sent together in pipeline mode share one; a statement and its implicit
``BEGIN`` sent apart are two. This is a count, like Zulip's
``assert_database_query_count``, never a timing: a change that adds a round trip
to the hot path fails the test that pins it.

Every connection Django has open when counting starts, and every one it opens
while counting (from the pool, on any alias), is traced.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from psycopg import pq


@dataclass
class RoundTrips:
    """The round trips counted so far, per database alias, and the traced messages."""

    _traces: list[tuple[str, Path, Any]] = field(default_factory=list)

    def per_alias(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for alias, path, _ in self._traces:
            counts[alias] = counts.get(alias, 0) + _round_trips(path.read_text())
        return counts

    @property
    def total(self) -> int:
        return sum(self.per_alias().values())

    def messages(self) -> str:
        """The client's messages, for a failing assertion to show what was sent."""
        lines = []
        for alias, path, _ in self._traces:
            for line in path.read_text().splitlines():
                if line.startswith("F\t"):
                    lines.append(f"{alias}: {line[:160]}")
        return "\n".join(lines)


def _round_trips(trace: str) -> int:
    """Each run of client messages that the server then answers is one round trip."""
    count, sending = 0, False
    for line in trace.splitlines():
        direction = line.split("\t", 1)[0]
        if direction == "F":
            sending = True
        elif direction == "B" and sending:
            count += 1
            sending = False
    return count


@contextmanager
def counting_round_trips() -> Iterator[RoundTrips]:
    """Trace every connection Django hands out inside the block; count afterwards."""
    counted = RoundTrips()
    folder = Path(tempfile.mkdtemp(prefix="zava-round-trips-"))

    def trace(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.connection is None:
            return
        path = folder / f"{len(counted._traces)}-{connection.alias}.trace"
        handle = path.open("w")
        pgconn = connection.connection.pgconn
        pgconn.trace(handle.fileno())
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        counted._traces.append((connection.alias, path, (pgconn, handle)))

    for open_connection in connections.all(initialized_only=True):
        trace(None, open_connection)
    connection_created.connect(trace)
    try:
        yield counted
    finally:
        connection_created.disconnect(trace)
        for _, _, (pgconn, handle) in counted._traces:
            pgconn.untrace()
            handle.close()
