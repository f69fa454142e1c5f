"""Pruning the audit of requests past its retention period: whole months, then batches.

The audit grows by one row per request: tens of millions a day under load. It is
partitioned by month on ``created_at`` (migration 0010), with a ``DEFAULT`` partition
for rows no month holds, so an insert never fails. Pruning drops every monthly
partition that ended before the cut-off (no per-row WAL, nothing left to ``VACUUM``),
then deletes the rest of what is older than the cut-off (the boundary month and the
default partition) a batch at a time, each batch its own short transaction, so no
lock is held for long and calls keep being audited while a prune runs.

Batches walk the ``created_at`` index upwards from where the previous one stopped,
so a batch never rescans the dead index entries its predecessors left behind.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from psycopg.errors import LockNotAvailable

from retail.models import AuditedRequest

DEFAULT_BATCH_SIZE = 5_000
MONTHS_AHEAD = 2
DEFAULT_PARTITION = "audit_requests_default"
_MONTHLY = re.compile(r"audit_requests_(\d{4})_(\d{2})")
# Dropping a partition takes a brief exclusive lock on the audit: wait this long for it
# (behind a long reader, say) before giving up and trying again, rather than queue the
# request path's inserts behind it indefinitely.
_LOCK_TIMEOUT = "5s"
_LOCK_ATTEMPTS = 5


@dataclass(frozen=True)
class PruneResult:
    dropped: int  # rows that went with whole monthly partitions
    partitions: int
    deleted: int  # rows deleted in batches
    batches: int
    seconds: float

    @property
    def total(self) -> int:
        return self.dropped + self.deleted


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    """The moment before which audit rows are older than ``days`` days."""
    if days < 0:
        raise ValueError("days must not be negative")
    return (now or timezone.now()) - timedelta(days=days)


def _table() -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(AuditedRequest._meta.db_table)


def month_start(moment: datetime) -> datetime:
    """The first instant (UTC) of ``moment``'s month."""
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def partition_name(month: datetime) -> str:
    return f"audit_requests_{month:%Y_%m}"


def monthly_partitions(cursor: CursorWrapper) -> dict[datetime, str]:
    """The audit's monthly partitions by the month they hold."""
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'audit_requests'::regclass"
    )
    months = {}
    for (name,) in cursor.fetchall():
        if match := _MONTHLY.fullmatch(name):
            months[datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)] = name
    return months


def create_month_partition(cursor: CursorWrapper, month: datetime) -> None:
    """Add ``month``'s partition, moving its rows out of the default partition if any.

    PostgreSQL refuses a new partition whose range holds rows of the default one, so
    the default is detached, its rows of that month re-inserted through the parent
    (into the new partition), deleted from it, and attached again: one transaction,
    normally on an empty default partition.
    """
    following = next_month(month)
    name = cursor.db.ops.quote_name(partition_name(month))
    bounds = [month.isoformat(), following.isoformat()]
    with transaction.atomic(using=cursor.db.alias):
        cursor.execute(f"ALTER TABLE audit_requests DETACH PARTITION {DEFAULT_PARTITION}")
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF audit_requests FOR VALUES FROM (%s) TO (%s)",
            bounds,
        )
        cursor.execute(
            f"INSERT INTO audit_requests SELECT * FROM {DEFAULT_PARTITION} "
            "WHERE created_at >= %s AND created_at < %s",
            bounds,
        )
        cursor.execute(
            f"DELETE FROM {DEFAULT_PARTITION} WHERE created_at >= %s AND created_at < %s",
            bounds,
        )
        cursor.execute(f"ALTER TABLE audit_requests ATTACH PARTITION {DEFAULT_PARTITION} DEFAULT")


def create_partitions(first: datetime, last: datetime, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Create the missing monthly partitions from ``first``'s month to ``last``'s."""
    created = []
    with connections[using].cursor() as cursor:
        existing = monthly_partitions(cursor)
        month = month_start(first)
        while month <= last:
            if month not in existing:
                create_month_partition(cursor, month)
                created.append(partition_name(month))
            month = next_month(month)
    return created


def months_ahead(now: datetime | None = None) -> datetime:
    """The last month the audit should have a partition for: ``MONTHS_AHEAD`` from now."""
    month = month_start(now or timezone.now())
    for _ in range(MONTHS_AHEAD):
        month = next_month(month)
    return month


def create_partitions_ahead(now: datetime | None = None) -> list[str]:
    """This month's partition and the next ``MONTHS_AHEAD`` months', where missing."""
    now = now or timezone.now()
    return create_partitions(now, months_ahead(now))


def expired_partitions(cutoff: datetime) -> list[str]:
    """Monthly partitions whose every row is older than ``cutoff``, oldest first."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        months = monthly_partitions(cursor)
    return [months[month] for month in sorted(months) if next_month(month) <= cutoff]


def drop_partition(name: str) -> int:
    """Detach and drop one monthly partition; returns the rows it held."""
    attempts = _LOCK_ATTEMPTS
    while True:
        try:
            return _detach_and_drop(connections[DEFAULT_DB_ALIAS].ops.quote_name(name))
        except OperationalError as exc:
            attempts -= 1
            if not attempts or not isinstance(exc.__cause__, LockNotAvailable):
                raise


def _detach_and_drop(partition: str) -> int:
    with (
        transaction.atomic(using=DEFAULT_DB_ALIAS),
        connections[DEFAULT_DB_ALIAS].cursor() as cursor,
    ):
        # Not CONCURRENTLY: PostgreSQL refuses it while a default partition exists. The
        # plain DETACH only changes the catalogue, under a bounded wait for its lock.
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [_LOCK_TIMEOUT])
        cursor.execute(f"ALTER TABLE audit_requests DETACH PARTITION {partition}")
        cursor.execute(f"SELECT count(*) FROM {partition}")
        rows: int = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {partition}")
        return rows


def count_older_than(cutoff: datetime) -> int:
    """Exact number of audit rows created before ``cutoff`` (an index-only count)."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {_table()} WHERE created_at < %s", [cutoff])
        return cursor.fetchone()[0]


def prune_older_than(
    cutoff: datetime,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> PruneResult:
    """Remove every audit row created before ``cutoff``: whole expired monthly
    partitions first, then the rest ``batch_size`` rows per transaction."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    started = time.monotonic()
    expired = expired_partitions(cutoff)
    dropped = 0
    for name in expired:
        rows = drop_partition(name)
        dropped += rows
        if progress:
            progress(rows)
    deleted, batches = _delete_in_batches(cutoff, batch_size, progress)
    return PruneResult(
        dropped=dropped,
        partitions=len(expired),
        deleted=deleted,
        batches=batches,
        seconds=time.monotonic() - started,
    )


def _delete_in_batches(
    cutoff: datetime, batch_size: int, progress: Callable[[int], object] | None
) -> tuple[int, int]:
    table = _table()
    statement = f"""
        WITH doomed AS (
            SELECT id, created_at FROM {table}
             WHERE created_at >= %s AND created_at < %s
             ORDER BY created_at LIMIT %s
        ), gone AS (
            DELETE FROM {table} a USING doomed
             WHERE a.id = doomed.id AND a.created_at = doomed.created_at
            RETURNING a.created_at
        )
        SELECT count(*), max(created_at) FROM gone
    """
    floor = datetime.min.replace(tzinfo=cutoff.tzinfo)
    deleted = batches = 0
    while True:
        with (
            transaction.atomic(using=DEFAULT_DB_ALIAS),
            connections[DEFAULT_DB_ALIAS].cursor() as cursor,
        ):
            cursor.execute(statement, [floor, cutoff, batch_size])
            count, latest = cursor.fetchone()
        if not count:
            break
        deleted += count
        batches += 1
        floor = latest  # rows sharing this timestamp may remain: >= picks them up
        if progress:
            progress(count)
    return deleted, batches
