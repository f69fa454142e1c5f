"""The request log middleware: one line per request, with the server's id and the client's apart."""

from __future__ import annotations

import uuid

from pglast.parser import fingerprint

from tests.identities import SEATTLE
from tests.infrastructure.observability.conftest import (
    SALES_SQL,
    SEATTLE_ID,
    log_records,
    tool_call,
    tool_lines,
)
from tests.mcp_client import post


def test_a_tool_call_logs_one_request_line_and_one_tool_line(metrics_server, tokens):
    server = metrics_server.server
    client_id = f"obs-{uuid.uuid4().hex}"
    response = post(
        server.mcp_url,
        tool_call("execute_sales_query", {"postgresql_query": SALES_SQL}),
        token=tokens[SEATTLE.email],
        headers={"X-Request-ID": client_id},
    )
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert request_id != client_id  # the server makes its own; the client's is kept apart
    assert response.headers["X-Client-Request-ID"] == client_id

    records = log_records(server.log, request_id, count=2)
    http = [r for r in records if r["logger"] == "zava.http"]
    tool = tool_lines(records)
    assert len(http) == 1, records
    assert len(tool) == 1, records
    assert {key: http[0].get(key) for key in ("method", "path", "status", "manager_id")} == {
        "method": "POST",
        "path": "/mcp",
        "status": 200,
        "manager_id": SEATTLE_ID,
    }
    assert http[0]["duration_ms"] > 0
    assert http[0]["client_request_id"] == client_id
    assert tool[0]["tool"] == "execute_sales_query"
    assert tool[0]["outcome"] == "ok"
    assert tool[0]["error_code"] == ""
    assert tool[0]["rows"] == 1  # Seattle sees one store
    assert tool[0]["manager_id"] == SEATTLE_ID
    assert tool[0]["duration_ms"] > 0
    assert tool[0]["sql_fingerprint"] == fingerprint(SALES_SQL)
    assert tool[0]["sql"] == SALES_SQL
