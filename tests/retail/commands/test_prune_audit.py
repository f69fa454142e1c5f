"""``prune_audit``: exactly the rows older than the cut-off go, in batches, while calls
keep being audited through the live server."""

from __future__ import annotations

import threading
import time
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

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
            "INSERT INTO audit_tool_calls (tool, arguments, outcome, error_code, request_id, "
            "created_at) SELECT %s, '{}', 'ok', '', '', "
            "now() - interval '10 days' - n * interval '210 minutes' "
            "FROM generate_series(0, %s - 1) AS n",
            [TOOL, OLD_ROWS],
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_tool_calls WHERE tool = %s", [TOOL])


def _older_than(days: int) -> int:
    return _scalar(
        "SELECT count(*) FROM audit_tool_calls "
        "WHERE created_at < now() - make_interval(days => %s)",
        [days],
    )


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
        "SELECT count(*) FROM audit_tool_calls WHERE tool = %s "
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

    batches = -(-doomed // 100)
    assert f"Deleted {doomed:,} audit rows older than 90 days" in out.getvalue()
    assert f"in {batches} batches" in out.getvalue()
    assert _older_than(90) == 0
    kept_after = _scalar(
        "SELECT count(*) FROM audit_tool_calls WHERE tool = %s "
        "AND created_at >= now() - interval '90 days' + interval '1 minute'",
        [TOOL],
    )
    assert kept_after == kept_before
    assert set(calls) == {200}
    audited = _scalar(
        "SELECT count(*) FROM audit_tool_calls WHERE client_request_id LIKE %s", [f"{marker}%"]
    )
    assert audited == len(calls)


@pytest.mark.parametrize(("option", "value"), [("older_than", -1), ("batch_size", 0)])
def test_bad_options_are_clear_errors(database, option, value):
    with pytest.raises(CommandError, match=option.replace("_", "-")):
        call_command("prune_audit", **{option: value})
