"""Structured logs: one JSON object per line, secrets redacted wherever a client puts them."""

from __future__ import annotations

import json
import logging
import sys

import httpx
from django.conf import settings
from pglast.parser import fingerprint

from infrastructure.observability.logs import (
    JsonFormatter,
    RedactSecretsFilter,
    RequestContextFilter,
    TextFormatter,
    request_id_var,
)
from tests.identities import SEATTLE
from tests.infrastructure.observability.conftest import (
    FAKE_TOKEN,
    METRICS_TOKEN,
    log_records,
    tool_call,
    tool_lines,
)
from tests.mcp_client import post


def _record(message: str = "hello %s", args: tuple = ("world",), **extra) -> logging.LogRecord:
    record = logging.LogRecord("zava.test", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_the_json_formatter_writes_one_object_with_the_extras():
    line = JsonFormatter().format(
        _record(tool="execute_sales_query", rows=3, duration_ms=1.5, request=object(), none=None)
    )
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["msg"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "zava.test"
    assert entry["ts"].endswith("+00:00")
    assert entry["tool"] == "execute_sales_query"
    assert entry["rows"] == 3
    assert entry["duration_ms"] == 1.5
    assert "request" not in entry  # Django's request object never reaches a line
    assert "none" not in entry


def test_an_exception_stays_on_one_json_line():
    try:
        raise ValueError("bad thing")
    except ValueError:
        record = _record()
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad thing" in entry["exc"]


def test_tokens_are_redacted_from_message_arguments_extras_and_tracebacks():
    try:
        raise RuntimeError(f"failed for {FAKE_TOKEN}")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = _record(
        "token %s in %s",
        (FAKE_TOKEN, "Authorization: Bearer some-metrics-secret"),
        sql=f"SELECT '{FAKE_TOKEN}'",
        request_id=FAKE_TOKEN,
    )
    record.exc_info = exc_info
    assert RedactSecretsFilter().filter(record)
    for formatter in (JsonFormatter(), TextFormatter()):
        line = formatter.format(record)
        assert FAKE_TOKEN not in line
        assert "some-metrics-secret" not in line
        assert "zava_[REDACTED]" in line
    # The formatters redact on their own too, for handlers configured without the filter.
    bare = _record("header %s", (f"Bearer {FAKE_TOKEN}",))
    assert FAKE_TOKEN not in JsonFormatter().format(bare)


def test_the_text_formatter_for_debug_shows_extras_as_key_value():
    line = TextFormatter().format(_record(tool="get_current_utc_date", outcome="ok"))
    assert line.endswith("zava.test: hello world [tool=get_current_utc_date outcome=ok]")


def test_records_carry_the_current_request_id():
    record = _record()
    reset = request_id_var.set("req-12345678")
    try:
        RequestContextFilter().filter(record)
    finally:
        request_id_var.reset(reset)
    assert record.request_id == "req-12345678"


def test_the_console_handler_is_configured_to_redact_and_format():
    expected = JsonFormatter if settings.ZAVA_LOG_FORMAT == "json" else TextFormatter
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    console = [h for h in handlers if isinstance(h.formatter, expected)]
    assert console, handlers
    assert any(isinstance(f, RedactSecretsFilter) for f in console[0].filters)
    assert any(isinstance(f, RequestContextFilter) for f in console[0].filters)


def test_refusals_log_their_code_and_a_fingerprint_or_a_hash(metrics_server, tokens):
    server = metrics_server.server
    refused = post(
        server.mcp_url,
        tool_call("execute_sales_query", {"postgresql_query": "DELETE FROM retail.orders"}),
        token=tokens[SEATTLE.email],
    ).headers["X-Request-ID"]
    unparsed = post(
        server.mcp_url,
        tool_call("execute_sales_query", {"postgresql_query": "SELECT 1\x00; DROP TABLE x"}),
        token=tokens[SEATTLE.email],
    ).headers["X-Request-ID"]
    (line,) = tool_lines(log_records(server.log, refused, count=2))
    assert line["outcome"] == "refused"
    assert line["error_code"] == "validation_error"
    assert line["reason"] == "not_select"
    assert line["sql_fingerprint"] == fingerprint("DELETE FROM retail.orders")
    (line,) = tool_lines(log_records(server.log, unparsed, count=2))
    assert line["reason"] == "syntax_error"
    assert "sql_fingerprint" not in line
    assert len(line["sql_hash"]) == 16


def test_no_token_reaches_the_log_wherever_a_client_puts_it(metrics_server, tokens):
    server = metrics_server.server
    token = tokens[SEATTLE.email]
    # The token as request id, inside the SQL, and a wrong token in the header.
    response = post(
        server.mcp_url,
        tool_call("execute_sales_query", {"postgresql_query": f"SELECT '{token}' AS t"}),
        token=token,
        headers={"X-Request-ID": token},
    )
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] != token  # a fresh id replaced it
    post(server.mcp_url, tool_call("get_current_utc_date", {}), token=FAKE_TOKEN)
    httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    records = log_records(server.log, response.headers["X-Request-ID"], count=2)
    assert any(r.get("sql", "").startswith("SELECT 'zava_[REDACTED]'") for r in records)
    text = server.log.read_text()
    assert token not in text
    assert FAKE_TOKEN not in text
    assert METRICS_TOKEN not in text
