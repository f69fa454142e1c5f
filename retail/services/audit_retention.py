"""Pruning the audit of tool calls past its retention period, in short batches.

The audit grows by one row per tool call: tens of millions a day under load. Rows
older than ``ZAVA_AUDIT_RETENTION_DAYS`` are deleted a batch at a time, each batch its
own short transaction, so no lock is held for long and calls keep being audited while
a prune runs. Only the primary key and ``created_at`` (indexed) are used.

Batches walk the ``created_at`` index upwards from where the previous one stopped,
so a batch never rescans the dead index entries its predecessors left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from retail.models import ToolCall

DEFAULT_BATCH_SIZE = 5_000


@dataclass(frozen=True)
class PruneResult:
    deleted: int
    batches: int
    seconds: float


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    """The moment before which audit rows are older than ``days`` days."""
    if days < 0:
        raise ValueError("days must not be negative")
    return (now or timezone.now()) - timedelta(days=days)


def _table() -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(ToolCall._meta.db_table)


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
    """Delete every audit row created before ``cutoff``, ``batch_size`` rows per transaction."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    table = _table()
    statement = f"""
        WITH doomed AS (
            SELECT id FROM {table}
             WHERE created_at >= %s AND created_at < %s
             ORDER BY created_at LIMIT %s
        ), gone AS (
            DELETE FROM {table} a USING doomed WHERE a.id = doomed.id RETURNING a.created_at
        )
        SELECT count(*), max(created_at) FROM gone
    """
    started = time.monotonic()
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
    return PruneResult(deleted=deleted, batches=batches, seconds=time.monotonic() - started)
