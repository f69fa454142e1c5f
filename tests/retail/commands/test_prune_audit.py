"""``prune_audit``: exactly the rows older than the cut-off go, in batches, while calls
keep being audited through the live server."""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from retail.services.audit_retention import (
    DEFAULT_PARTITION,
    create_partitions,
    month_start,
    monthly_partitions,
    next_month,
    partition_name,
)
from tests.identities import SEATTLE
from tests.mcp_client import post

TOOL = "prune-test"
OLD_ROWS = 1_200  # one every 3.5 hours over 175 days, 10 to 185 days old
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
DATE = {"name": "get_current_utc_date", "arguments": {}}


def _scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@pytest.fixture
def aged_rows(database):
    """Audit rows 10 to 185 days old, removed again afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            "created_at) SELECT %s, '{}', 'ok', '', '', "
            "now() - interval '10 days' - n * interval '210 minutes' "
            "FROM generate_series(0, %s - 1) AS n",
            [TOOL, OLD_ROWS],
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_requests WHERE tool = %s", [TOOL])


def _older_than(days: int) -> int:
    return _scalar(
        "SELECT count(*) FROM audit_requests WHERE created_at < now() - make_interval(days => %s)",
        [days],
    )


def _outcome(output: str) -> tuple[int, int, int]:
    """Rows dropped with partitions, rows deleted, and batches, from the command's output."""
    found = re.search(
        r"([\d,]+) by dropping \d+ monthly partitions, ([\d,]+) in (\d+) batches", output
    )
    assert found, output
    return int(found[1].replace(",", "")), int(found[2].replace(",", "")), int(found[3])


def _partition_of(created_at) -> str:
    """The partition PostgreSQL routes a row created at ``created_at`` to (then removed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            "created_at) VALUES (%s, '{}', 'ok', '', '', %s) RETURNING tableoid::regclass::text",
            [TOOL, created_at],
        )
        (partition,) = cursor.fetchone()
        cursor.execute("DELETE FROM audit_requests WHERE tool = %s", [TOOL])
    return partition


def test_the_audit_is_partitioned_by_month_from_this_month_to_two_ahead(database):
    this_month = month_start(timezone.now())
    ahead = [this_month, next_month(this_month), next_month(next_month(this_month))]
    with connection.cursor() as cursor:
        months = monthly_partitions(cursor)
        cursor.execute(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_inherits i "
            "ON i.inhparent = p.partrelid JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE p.partrelid = 'audit_requests'::regclass "
            "AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'"
        )
        defaults = [name for (name,) in cursor.fetchall()]
    assert all(months.get(month) == partition_name(month) for month in ahead)
    assert defaults == [DEFAULT_PARTITION]


def test_a_row_lands_in_its_months_partition_or_the_default_one(database):
    now = timezone.now()
    assert _partition_of(now) == partition_name(month_start(now))
    assert _partition_of(now + timedelta(days=3650)) == DEFAULT_PARTITION
    assert _partition_of(now - timedelta(days=3650)) == DEFAULT_PARTITION


def test_a_new_month_takes_its_rows_from_the_default_partition(database):
    month = month_start(timezone.now() + timedelta(days=1500))
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            "created_at) VALUES (%s, '{}', 'ok', '', '', %s) RETURNING id",
            [TOOL, month + timedelta(days=3)],
        )
        (row,) = cursor.fetchone()
    try:
        assert create_partitions(month, month) == [partition_name(month)]
        located = _scalar(
            "SELECT tableoid::regclass::text FROM audit_requests WHERE id = %s", [row]
        )
        assert located == partition_name(month)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {partition_name(month)}")
            cursor.execute("DELETE FROM audit_requests WHERE tool = %s", [TOOL])


def test_prune_drops_whole_old_months_and_deletes_exactly_the_rest(aged_rows):
    now = timezone.now()
    create_partitions(now - timedelta(days=200), now)  # the aged rows move out of DEFAULT
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_requests (tool, arguments, outcome, error_code, request_id, "
            "created_at) VALUES (%s, '{}', 'ok', '', '', now() - interval '20 years')",
            [TOOL],
        )
    kept = _scalar(
        "SELECT count(*) FROM audit_requests WHERE tool = %s "
        "AND created_at >= now() - interval '90 days' + interval '1 minute'",
        [TOOL],
    )
    doomed = _older_than(90)
    out = StringIO()
    call_command("prune_audit", older_than=90, batch_size=50, stdout=out, verbosity=0)

    dropped, deleted, _ = _outcome(out.getvalue())
    assert dropped > 0 and deleted > 0  # whole months went, and part of the boundary one
    assert dropped + deleted == doomed
    assert _older_than(90) == 0
    assert kept == _scalar(
        "SELECT count(*) FROM audit_requests WHERE tool = %s", [TOOL]
    )  # the 20-year-old row in DEFAULT went too
    cutoff = now - timedelta(days=90)
    with connection.cursor() as cursor:
        months = monthly_partitions(cursor)
    assert not [month for month in months if next_month(month) <= cutoff]
    assert month_start(cutoff) in months  # the boundary month stays, its newer rows kept


def test_prune_creates_the_partitions_of_the_next_two_months(database):
    last = next_month(next_month(month_start(timezone.now())))
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {partition_name(last)}")  # empty: nothing is audited ahead
    out = StringIO()
    call_command("prune_audit", stdout=out, verbosity=0)
    assert f"Created audit partitions {partition_name(last)}." in out.getvalue()
    with connection.cursor() as cursor:
        assert monthly_partitions(cursor)[last] == partition_name(last)


def test_a_dry_run_counts_and_deletes_nothing(aged_rows):
    out = StringIO()
    expected = _older_than(90)
    call_command("prune_audit", older_than=90, dry_run=True, stdout=out)
    assert f"Would delete {expected:,} audit rows older than 90 days" in out.getvalue()
    assert _older_than(90) == expected > 0


def test_exactly_the_rows_older_than_the_cutoff_go_in_batches_while_calls_are_audited(
    aged_rows, zava_server, tokens
):
    kept_before = _scalar(
        "SELECT count(*) FROM audit_requests WHERE tool = %s "
        "AND created_at >= now() - interval '90 days' + interval '1 minute'",
        [TOOL],
    )
    doomed = _older_than(90)
    assert doomed > 500
    marker = uuid.uuid4().hex[:16]
    calls: list[int] = []
    stop = threading.Event()

    def stream() -> None:
        while not stop.is_set():
            response = post(
                zava_server.mcp_url,
                {**CALL, "params": DATE},
                token=tokens[SEATTLE.email],
                headers={"X-Request-ID": f"{marker}{len(calls):08d}"},
            )
            calls.append(response.status_code)

    worker = threading.Thread(target=stream)
    worker.start()
    try:
        while len(calls) < 3:
            time.sleep(0.01)
        out = StringIO()
        call_command("prune_audit", older_than=90, batch_size=100, stdout=out, verbosity=0)
        at_end = len(calls)
        while len(calls) < at_end + 3:  # and calls made after the prune are audited too
            time.sleep(0.01)
    finally:
        stop.set()
        worker.join(timeout=60)

    assert f"Deleted {doomed:,} audit rows older than 90 days" in out.getvalue()
    dropped, deleted, batches = _outcome(out.getvalue())
    assert dropped + deleted == doomed
    assert batches == -(-deleted // 100)
    assert _older_than(90) == 0
    kept_after = _scalar(
        "SELECT count(*) FROM audit_requests WHERE tool = %s "
        "AND created_at >= now() - interval '90 days' + interval '1 minute'",
        [TOOL],
    )
    assert kept_after == kept_before
    assert set(calls) == {200}
    audited = _scalar(
        "SELECT count(*) FROM audit_requests WHERE client_request_id LIKE %s", [f"{marker}%"]
    )
    assert audited == len(calls)


@pytest.mark.parametrize(("option", "value"), [("older_than", -1), ("batch_size", 0)])
def test_bad_options_are_clear_errors(database, option, value):
    with pytest.raises(CommandError, match=option.replace("_", "-")):
        call_command("prune_audit", **{option: value})
