"""``mcp_tools.dispatch.answer``: one message in, one reply out, for HTTP and stdio alike.

Called directly, without a transport: what each kind of message gets back, which of
them are audited, and that lists and the handshake come from the registry.
"""

from __future__ import annotations

import uuid

import pytest
from mcp import types
from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

from mcp_tools import dispatch, eras, pipeline
from mcp_tools.caller import Caller
from mcp_tools.jsonrpc import SERVER_ERROR, Reply
from mcp_tools.registry import registry
from retail.models import AuditedRequest, Outcome
from retail.tenancy import DatabaseDown
from tests.identities import SEATTLE
from tests.mcp_client import MODERN_META, modern_message

ORIGIN = "http://zava.test"


@pytest.fixture
def caller(database) -> Caller:
    return Caller(manager_id=SEATTLE.id, token_id=None, request_id=uuid.uuid4().hex)


def _answer(caller: Caller, message: dict, origin: str | None = None) -> Reply:
    return dispatch.answer({"jsonrpc": "2.0", **message}, caller, origin)


def _audited(caller: Caller) -> list[AuditedRequest]:
    return list(AuditedRequest.objects.filter(request_id=caller.request_id))


def test_notifications_and_responses_get_no_reply(caller):
    assert _answer(caller, {"method": "notifications/initialized"}).message is None
    assert _answer(caller, {"id": 3, "result": {}}).message is None
    assert _answer(caller, {"id": 3, "error": {"code": 1, "message": "no"}}).message is None


@pytest.mark.parametrize(
    ("message", "reply_id"),
    [
        ({"id": 1}, 1),  # no method
        ({"id": 1, "method": 42}, None),
        ({"id": True, "method": "ping"}, None),
        ({"id": 1.5, "method": "ping"}, None),
        ({"id": None, "method": "ping"}, None),
        ({"id": [1], "method": "ping"}, None),
    ],
)
def test_a_malformed_request_is_a_400_invalid_request(caller, message, reply_id):
    reply = _answer(caller, message)
    assert reply.status == 400
    assert reply.message["id"] == reply_id
    assert reply.message["error"]["code"] == types.INVALID_REQUEST


def test_an_unknown_method_is_method_not_found_with_its_id(caller):
    reply = _answer(caller, {"id": "x", "method": "tools/destroy"})
    assert reply.status == 200
    assert reply.message["id"] == "x"
    assert reply.message["error"]["code"] == types.METHOD_NOT_FOUND


def test_parameters_that_do_not_parse_are_refused_and_audited(caller):
    reply = _answer(caller, {"id": 2, "method": "tools/call", "params": {"arguments": {}}})
    assert reply.message["error"]["code"] == types.INVALID_PARAMS
    assert "name" in reply.message["error"]["message"]
    [row] = _audited(caller)
    assert (row.method, row.outcome, row.error_code) == (
        "tools/call",
        Outcome.REFUSED,
        "validation_error",
    )
    assert row.manager_id == SEATTLE.id


def test_a_bad_ping_is_refused_and_not_audited(caller):
    reply = _answer(caller, {"id": 2, "method": "ping", "params": "now"})
    assert reply.message["error"]["code"] == types.INVALID_PARAMS
    assert _audited(caller) == []


def test_ping_is_answered_with_an_empty_result(caller):
    assert _answer(caller, {"id": 9, "method": "ping"}).message == {
        "jsonrpc": "2.0",
        "id": 9,
        "result": {},
    }


def _initialize(caller: Caller, version: str) -> dict:
    params = {
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    }
    return _answer(caller, {"id": 1, "method": "initialize", "params": params}, ORIGIN).message


def test_the_handshake_keeps_a_version_spoken_here_and_offers_the_latest_otherwise(caller):
    oldest = SUPPORTED_PROTOCOL_VERSIONS[0]
    assert _initialize(caller, oldest)["result"]["protocolVersion"] == oldest
    latest = _initialize(caller, "1999-01-01")["result"]
    assert latest["protocolVersion"] == types.LATEST_PROTOCOL_VERSION
    assert latest["serverInfo"]["name"]
    assert "tools" in latest["capabilities"]


def test_the_tool_list_is_the_registrys_with_icons_only_under_an_origin(caller):
    def tools(origin: str | None) -> list[dict]:
        return _answer(caller, {"id": 1, "method": "tools/list"}, origin).message["result"]["tools"]

    listed = tools(ORIGIN)
    assert [t["name"] for t in listed] == [t.name for t in registry().tool_list]
    assert "execute_sales_query" in [t["name"] for t in listed]
    for tool in listed:
        assert tool["icons"], tool["name"]
        assert all(icon["src"].startswith(f"{ORIGIN}/") for icon in tool["icons"])
    assert not any("icons" in t for t in tools(None))
    assert _audited(caller) == []  # lists read no data


def test_a_tool_call_runs_for_the_caller_and_is_audited(caller):
    params = {
        "name": "execute_sales_query",
        "arguments": {"postgresql_query": "SELECT DISTINCT store_id FROM retail.orders"},
    }
    reply = _answer(caller, {"id": 4, "method": "tools/call", "params": params})
    result = reply.message["result"]
    assert result["isError"] is False
    assert '"r":[[1]]' in result["content"][0]["text"]
    [row] = _audited(caller)
    assert (row.tool, row.outcome, row.rows) == ("execute_sales_query", Outcome.OK, 1)


def test_a_database_that_is_down_is_a_503_with_retry_after(caller, monkeypatch):
    def down(*_args, **_kwargs):
        raise DatabaseDown("no connection")

    monkeypatch.setattr(pipeline, "run_tool_call", down)
    params = {"name": "get_current_utc_date", "arguments": {}}
    reply = _answer(caller, {"id": 5, "method": "tools/call", "params": params})
    assert reply.status == 503
    assert reply.headers["Retry-After"]
    assert reply.message["error"]["code"] == SERVER_ERROR


def test_a_modern_request_records_the_client_it_named(caller):
    message = modern_message(
        "tools/call", {"name": "get_current_utc_date", "arguments": {}}, request_id=4
    )
    envelope = eras.read_envelope(message)
    reply = dispatch.answer(message, caller, None, envelope)
    assert reply.message is not None
    assert reply.message["result"]["resultType"] == "complete"
    assert [row.client for row in _audited(caller)] == ["zava-tests 1.0"]


def test_a_legacy_request_records_no_client(caller):
    _answer(caller, {"id": 5, "method": "tools/call",
                     "params": {"name": "get_current_utc_date", "arguments": {}}})  # fmt: skip
    assert [row.client for row in _audited(caller)] == [""]


def test_removed_notifications_are_not_found_in_the_modern_lane_only(caller):
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized",
                    "params": {"_meta": MODERN_META}}  # fmt: skip
    reply = dispatch.answer(notification, caller, None, eras.read_envelope(notification))
    assert reply.status == 404
    assert reply.message is not None and reply.message["id"] is None
    assert _answer(caller, {"method": "notifications/initialized"}).message is None
