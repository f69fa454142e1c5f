"""Sentry: off without a DSN, and nothing SQL- or token-shaped in what it would send."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import sentry_sdk
from django.conf import settings
from django.db import connections

from infrastructure.observability.sentry import (
    before_breadcrumb,
    before_send,
    before_send_transaction,
    git_commit,
    init_sentry,
    sentry_options,
)

TOKEN = "zava_" + "Q" * 43
SQL = "SELECT email FROM retail.customers WHERE last_name = 'Secretsson'"


def _event() -> dict:
    """An error event shaped like the ones the SDK builds for this project."""
    return {
        "message": "tool failed",
        "logentry": {"message": "query %s failed", "params": [SQL]},
        "extra": {"sql": SQL, "sql_fingerprint": "abc123", "request_id": TOKEN},
        "exception": {
            "values": [
                {
                    "type": "SyntaxError",
                    "module": "psycopg.errors",
                    "value": f'syntax error at or near "Secretsson"\nLINE 1: {SQL}\n        ^',
                    "stacktrace": {
                        "frames": [{"function": "run_select", "vars": {"sql": SQL, "t": TOKEN}}]
                    },
                },
                {
                    "type": "RuntimeError",
                    "module": "builtins",
                    "value": f"failed with Bearer {TOKEN}",
                },
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "query", "message": SQL, "data": {"db.params": ["Secretsson"]}},
                {"category": "zava.mcp", "message": "tool call", "data": {"sql": SQL}},
            ]
        },
        "request": {
            "url": "http://localhost/mcp",
            "data": {"params": {"arguments": {"postgresql_query": SQL}}},
            "headers": {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            "cookies": {"sessionid": "s3cret"},
        },
    }


def test_before_send_strips_sql_parameters_variables_and_tokens():
    scrubbed = before_send(_event(), {})
    text = json.dumps(scrubbed)
    for leaked in ("Secretsson", "retail.customers", TOKEN, "s3cret"):
        assert leaked not in text, leaked
    assert scrubbed["exception"]["values"][0]["value"] == 'syntax error at or near "[Filtered]"'
    assert scrubbed["extra"]["sql"] == "[Filtered]"
    assert scrubbed["extra"]["sql_fingerprint"] == "abc123"  # grouping survives
    assert scrubbed["breadcrumbs"]["values"][0] == {"category": "query", "message": "[SQL removed]"}
    assert scrubbed["request"]["headers"]["Authorization"] == "[Filtered]"
    assert scrubbed["request"]["headers"]["Accept"] == "application/json"
    assert "data" not in scrubbed["request"]


def test_database_errors_keep_only_their_first_line():
    event = before_send(_event(), {})
    first = event["exception"]["values"][0]["value"]
    assert first.startswith("syntax error at or near")
    assert "\n" not in first
    assert event["exception"]["values"][1]["value"] == "failed with Bearer [REDACTED]"


def test_transactions_lose_the_sql_of_their_database_spans():
    event = {
        "type": "transaction",
        "transaction": "/mcp",
        "spans": [
            {"op": "db", "description": SQL, "data": {"db.params": ["x"], "db.system": "pg"}},
            {"op": "http.server", "description": "POST /mcp"},
        ],
    }
    scrubbed = before_send_transaction(event, {})
    assert scrubbed["spans"][0] == {"op": "db", "description": "[SQL removed]"}
    assert scrubbed["spans"][1]["description"] == "POST /mcp"


def test_query_breadcrumbs_are_replaced():
    crumb = before_breadcrumb({"category": "query", "message": SQL, "data": {"params": [1]}}, {})
    assert crumb == {"category": "query", "message": "[SQL removed]"}
    kept = before_breadcrumb({"category": "httplib", "message": "GET /", "data": {"x": 1}}, {})
    assert kept["data"] == {"x": 1}


def test_options_send_no_personal_data_bodies_or_variables():
    options = sentry_options(
        dsn="https://public@sentry.invalid/1",
        release="abc",
        environment="staging",
        traces_sample_rate=0.25,
    )
    assert options["send_default_pii"] is False
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert options["release"] == "abc"
    assert options["environment"] == "staging"
    assert options["traces_sample_rate"] == 0.25
    assert options["before_send"] is before_send
    assert options["before_breadcrumb"] is before_breadcrumb
    assert [type(i).__name__ for i in options["integrations"]] == ["DjangoIntegration"]


def test_without_a_dsn_sentry_stays_off():
    assert not settings.SENTRY_DSN
    assert init_sentry(dsn="", release=None, environment="x", traces_sample_rate=0) is False
    assert not sentry_sdk.get_client().is_active()


def test_the_release_defaults_to_the_git_commit(tmp_path):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=settings.BASE_DIR, capture_output=True, text=True
    ).stdout.strip()
    assert git_commit(settings.BASE_DIR) == head
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "packed-refs").write_text(f"# pack\n{'a' * 40} refs/heads/main\n")
    assert git_commit(tmp_path) == "a" * 40
    assert git_commit(tmp_path / "nowhere") is None


SCRIPT = textwrap.dedent(
    """
    import json, logging, sys
    import django
    django.setup()
    import sentry_sdk
    from sentry_sdk.transport import Transport
    from django.db import connection
    from infrastructure.observability.sentry import sentry_options

    captured = []

    class Capture(Transport):
        def capture_envelope(self, envelope):
            for item in envelope.items:
                if item.payload.json is not None:
                    captured.append(item.payload.json)

    options = sentry_options(dsn="https://public@sentry.invalid/1", release="test",
                             environment="test", traces_sample_rate=1.0)
    sentry_sdk.init(**options, transport=Capture)
    with sentry_sdk.start_transaction(name="probe"):
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::text AS secret_param", ["Parametersson"])
        logging.getLogger("zava.mcp").info("tool call", extra={"sql": "SELECT 'Extrasson'"})
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELEC 'Literalsson' FROM retail.customers")
        except Exception:
            sentry_sdk.capture_exception()
    sentry_sdk.flush()
    print(json.dumps(captured))
    """
)


@pytest.mark.slow
def test_the_real_sdk_sends_no_sql_through_our_hooks(database):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "zava.settings",
        "ZAVA_DB_NAME": connections["default"].settings_dict["NAME"],
    }
    env.pop("SENTRY_DSN", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout.strip().splitlines()[-1])
    kinds = {event.get("type", "error") for event in events}
    assert kinds == {"error", "transaction"}, events
    text = json.dumps(events)
    for leaked in ("Parametersson", "Extrasson", "Literalsson", "SELEC ", "secret_param"):
        assert leaked not in text, leaked
    (error,) = [event for event in events if event.get("type", "error") == "error"]
    assert any(c.get("message") == "[SQL removed]" for c in error["breadcrumbs"]["values"])
