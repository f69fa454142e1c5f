"""The official MCP Python SDK 2.x client, an outside judge, against the real server.

It is run in each mode it offers: ``auto`` (probes ``server/discover``, falls back to
``initialize``), ``2026-07-28`` (stateless, no probe) and ``legacy`` (the handshake).
Every tool, a resource, a prompt and a completion must give the same answers as the
1.x client gets, and a store manager must see only their stores in every mode, over
HTTP and over stdio.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest
from django.conf import settings
from django.db import connections
from mcp import ClientSession, types

from tests.clients.sdk2 import run_sdk2
from tests.conftest import private_server
from tests.identities import HEAD_OFFICE, SEATTLE, store_ids
from tests.mcp_client import fenced, text_json, with_session

pytestmark = pytest.mark.slow  # each test starts the 2.x client in a subprocess

AS_OF = "2026-06-30"
STORES_SQL = "SELECT DISTINCT store_id FROM retail.orders ORDER BY 1"
# Every tool once, with arguments a manager would give, then the other kinds of request.
STEPS: list[list[Any]] = [
    ["tools/list"],
    ["tools/call", "execute_sales_query", {"postgresql_query": STORES_SQL}],
    ["tools/call", "get_multiple_table_schemas", {"table_names": ["retail.orders"]}],
    ["tools/call", "get_current_utc_date", {}],
    ["tools/call", "semantic_search_products", {"query_description": "cordless drill"}],
    ["tools/call", "get_store_performance", {"period": "2025", "as_of": AS_OF}],
    ["tools/call", "get_top_products", {"period": "2025", "as_of": AS_OF}],
    ["tools/call", "get_sales_trend", {"period": "2025", "as_of": AS_OF}],
    ["tools/call", "plot_sales_trend", {"period": "2025-01-01..2025-03-31", "as_of": AS_OF}],
    ["tools/call", "get_inventory_alerts", {"threshold_days": 365, "as_of": AS_OF}],
    ["tools/call", "get_category_seasonality", {"as_of": AS_OF}],
    ["resources/read", "zava://stores/mine"],
    ["prompts/get", "weekly_store_review", {}],
    ["completion/complete", "weekly_store_review", "store", ""],
]
MODES = ["auto", "2026-07-28", "legacy"]


async def _v1_step(session: ClientSession, step: list[Any]) -> Any:
    method, *args = step
    if method == "tools/list":
        return await session.list_tools()
    if method == "tools/call":
        return await session.call_tool(args[0], args[1])
    if method == "resources/read":
        return await session.read_resource(args[0])
    if method == "prompts/get":
        return await session.get_prompt(args[0], args[1])
    reference = types.PromptReference(type="ref/prompt", name=args[0])
    return await session.complete(reference, {"name": args[1], "value": args[2]})


def _v1(url: str, token: str) -> list[dict]:
    """The same steps through the 1.x client (the server's own SDK), as wire JSON."""

    async def work(session: ClientSession) -> list[dict]:
        results = [await _v1_step(session, step) for step in STEPS]
        return [r.model_dump(by_alias=True, mode="json", exclude_none=True) for r in results]

    return with_session(url, token, work)


def _unfenced(text: str) -> str:
    return fenced(text)[1] if text.startswith("Inside the untrusted-data-") else text


def _comparable(step: list[Any], result: dict) -> Any:
    """What must be the same whichever client asked: the answer, not its framing
    (each answer's fence has a boundary of its own; chart links name a new chart)."""
    method = step[0]
    if method == "tools/list":
        return [(tool["name"], tool["inputSchema"]) for tool in result["tools"]]
    if method == "tools/call":
        if step[1] == "get_current_utc_date":
            return result["content"][0]["text"].split("T")[0]
        if "structuredContent" in result:
            return result["isError"], result["structuredContent"]
        return result["isError"], _unfenced(result["content"][0]["text"])
    if method == "resources/read":
        return _unfenced(result["contents"][0]["text"])
    if method == "prompts/get":
        return [message["content"]["text"] for message in result["messages"]]
    return result["completion"]["values"]


@pytest.fixture(scope="module")
def seattle_v1(zava_server, tokens) -> list[dict]:
    return _v1(zava_server.mcp_url, tokens[SEATTLE.email])


@pytest.mark.parametrize("mode", MODES)
def test_every_answer_is_the_one_the_1x_client_gets(zava_server, tokens, seattle_v1, mode):
    got = run_sdk2(zava_server.mcp_url, tokens[SEATTLE.email], mode, STEPS)
    assert got["protocol_version"] == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert len(got["results"]) == len(STEPS)
    for step, ours, theirs in zip(STEPS, got["results"], seattle_v1, strict=True):
        assert "error" not in ours, (step, ours)
        assert _comparable(step, ours) == _comparable(step, theirs), step
    names = [tool["name"] for tool in got["results"][0]["tools"]]
    assert len(names) == 10
    stores = got["results"][1]
    assert text_json(stores["content"][0]["text"], is_error=False)["r"] == [[1]]  # Seattle only


def test_auto_mode_discovers_the_server_without_a_handshake(zava_server, tokens):
    got = run_sdk2(zava_server.mcp_url, tokens[SEATTLE.email], "auto", [])
    discovered = got["discovered"]
    assert discovered["supportedVersions"][0] == "2026-07-28"
    assert discovered["capabilities"]["tools"] == {"listChanged": False}
    assert discovered["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "zava-mcp"


@pytest.mark.parametrize("mode", MODES)
def test_head_office_sees_every_store_in_every_mode(zava_server, tokens, mode):
    steps = [["tools/call", "execute_sales_query", {"postgresql_query": STORES_SQL}]]
    got = run_sdk2(zava_server.mcp_url, tokens[HEAD_OFFICE.email], mode, steps)
    rows = text_json(got["results"][0]["content"][0]["text"], is_error=False)["r"]
    assert [row[0] for row in rows] == sorted(store_ids(HEAD_OFFICE))


def test_an_unknown_tool_is_an_error_the_modern_client_raises(zava_server, tokens):
    got = run_sdk2(zava_server.mcp_url, tokens[SEATTLE.email], "2026-07-28",
                   [["tools/call", "no_such_tool", {}]])  # fmt: skip
    assert got["results"][0]["error"]["code"] == types.INVALID_PARAMS


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_over_stdio_too(database, mode):
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "mcp_stdio",
               "--manager", SEATTLE.email]  # fmt: skip
    environment = {**os.environ, "ZAVA_DB_NAME": connections["default"].settings_dict["NAME"]}
    target = {"command": command, "env": environment, "cwd": str(settings.BASE_DIR)}
    steps = [["tools/call", "execute_sales_query", {"postgresql_query": STORES_SQL}]]
    got = run_sdk2(target, None, mode, steps)
    assert got["protocol_version"] == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert text_json(got["results"][0]["content"][0]["text"], is_error=False)["r"] == [[1]]


def test_the_rate_limit_reaches_the_modern_client_as_a_message_it_can_show(
    database, tokens, tmp_path
):
    """A 429 carries a JSON-RPC error body (its id unknown: the limit is checked before
    the body is read), which the 2.x client hands to its caller instead of a bare
    status; the calls under the limit are answered as usual."""
    steps = [["tools/call", "get_current_utc_date", {}]] * 4
    with private_server(tmp_path / "gunicorn.log", ZAVA_RATE_LIMIT_PER_MINUTE="2") as server:
        got = run_sdk2(server.mcp_url, tokens[SEATTLE.email], "2026-07-28", steps)
    answered = [result for result in got["results"] if "error" not in result]
    refused = [result["error"] for result in got["results"] if "error" in result]
    # (the client lists the tools once before its first call, to learn their schemas)
    assert len(answered) >= 1
    assert len(refused) >= 2
    assert all(error["message"].startswith("Too many requests; retry in") for error in refused)
