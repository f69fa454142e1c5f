"""Rebuild the audit as a table partitioned by month on ``created_at``.

Pruning then drops whole months instead of deleting rows one by one (bench/README.md:
60 times faster at 10 million rows, inserts as fast). PostgreSQL requires the primary
key of a partitioned table to include the partition key, so the database's key is
``(id, created_at)``; the model keeps ``id`` as its primary key (the identity sequence
keeps ids unique), hence ``SeparateDatabaseAndState`` with no state change.

Columns, defaults (database defaults included), the identity and its position, indexes
(same names) and foreign keys are carried over; the table stays private to the owner
role, as before (no grants: the tenant role cannot read it or any partition). Monthly
partitions cover the oldest row's month to two months ahead, plus a DEFAULT partition
so an insert never fails; ``prune_audit`` keeps creating months ahead. Reversible: the
reverse rebuilds the plain table with primary key ``(id)`` and copies the rows back.

The partition helpers are this migration's own, frozen as they were: a migration must
build the same schema whatever the services' code says today.
"""

from datetime import UTC, datetime, timedelta

from django.db import migrations
from django.utils import timezone

TABLE = "audit_tool_calls"
OLD = "audit_tool_calls_rebuilt_from"
DEFAULT_PARTITION = "audit_tool_calls_default"
MONTHS_AHEAD = 2


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def _create_monthly_partitions(cursor, first: datetime, now: datetime) -> None:
    """One partition per month from ``first``'s to ``MONTHS_AHEAD`` after ``now``'s.

    The table is new and empty here, so no row waits in the default partition.
    """
    last = _month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    month = _month_start(first)
    while month <= last:
        following = _next_month(month)
        cursor.execute(
            f"CREATE TABLE {TABLE}_{month:%Y_%m} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
            [month.isoformat(), following.isoformat()],
        )
        month = following


def _rebuild(schema_editor, *, partitioned: bool) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname <> %s",
            [TABLE, f"{TABLE}_pkey"],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [TABLE],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [TABLE])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
        last_value, is_called = cursor.fetchone()
        cursor.execute(f"SELECT min(created_at) FROM {TABLE}")
        (oldest,) = cursor.fetchone()

        # Free every name the new table takes: the table, its sequence, its indexes.
        cursor.execute(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {OLD}_id_seq")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {OLD} DROP CONSTRAINT {name}")
        cursor.execute(f"ALTER TABLE {OLD} DROP CONSTRAINT {TABLE}_pkey")

        like = f"(LIKE {OLD} INCLUDING DEFAULTS INCLUDING IDENTITY)"
        if partitioned:
            cursor.execute(f"CREATE TABLE {TABLE} {like} PARTITION BY RANGE (created_at)")
            cursor.execute(
                f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, created_at)"
            )
            cursor.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
            now = timezone.now()
            _create_monthly_partitions(cursor, oldest or now, now)
        else:
            cursor.execute(f"CREATE TABLE {TABLE} {like}")
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id)")
        cursor.execute(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
            [TABLE, last_value, is_called],
        )
        cursor.execute(f"DROP TABLE {OLD}")
        for _, definition in indexes:
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {name} {definition}")
        cursor.execute(f"REVOKE ALL ON {TABLE} FROM PUBLIC")
        cursor.execute(f"ANALYZE {TABLE}")


def partition(apps, schema_editor) -> None:
    _rebuild(schema_editor, partitioned=True)


def unpartition(apps, schema_editor) -> None:
    _rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("retail", "0009_manager_user")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(partition, unpartition)],
        )
    ]
