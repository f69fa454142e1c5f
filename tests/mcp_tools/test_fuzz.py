"""Property-based fuzzing of the endpoint: any body, any arguments, always a clean answer.

Every response must be a well-formed JSON-RPC answer (result or error), an accepted
notification (202, empty), or a clean HTTP error with a JSON-RPC error body; never a
500, never a stack trace. The server must stay healthy throughout.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mcp_client import post, rpc

SEATTLE = "seattle.manager@zava.example"
TOOLS = ["execute_sales_query", "get_multiple_table_schemas", "get_current_utc_date",
         "semantic_search_products"]  # fmt: skip
ERROR_CODES = {"validation_error", "authorization_error", "timeout", "database_error",
               "unavailable", "internal_error"}  # fmt: skip
ARGUMENT_NAMES = ["postgresql_query", "table_names", "query_description", "max_rows",
                  "similarity_threshold", "extra"]  # fmt: skip
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
methods = st.sampled_from(
    ["initialize", "ping", "tools/list", "tools/call", "resources/list", "prompts/list",
     "notifications/initialized", "completion/complete", "logging/setLevel", "bogus"]
) | st.text(max_size=20)  # fmt: skip
messages = st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "2.0", "1.0"]), "method": methods},
    optional={"id": st.integers() | st.text(max_size=8) | st.none(), "params": json_values},
)
tool_calls = st.fixed_dictionaries(
    {
        "name": st.sampled_from(TOOLS) | st.text(max_size=20),
        "arguments": st.dictionaries(st.sampled_from(ARGUMENT_NAMES), json_values, max_size=3),
    }
)


@pytest.fixture
def endpoint(zava_server, tokens):
    return zava_server.mcp_url, tokens[SEATTLE]


def _assert_clean(response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        assert response.content == b""
        return
    body = response.json()
    assert body["jsonrpc"] == "2.0"
    assert ("result" in body) != ("error" in body)
    if "error" in body:
        assert isinstance(body["error"]["code"], int)
        assert "Traceback" not in body["error"]["message"]


@FUZZ
@given(body=json_values)
def test_any_json_body_gets_a_clean_answer(endpoint, body):
    url, token = endpoint
    _assert_clean(post(url, body, token=token))


@FUZZ
@given(message=messages)
def test_any_json_rpc_message_gets_a_clean_answer(endpoint, message):
    url, token = endpoint
    _assert_clean(post(url, message, token=token))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_any_bytes_get_a_clean_answer(endpoint, raw):
    url, token = endpoint
    _assert_clean(post(url, raw, token=token))


@FUZZ
@given(params=tool_calls)
def test_any_tool_arguments_get_a_result_or_a_typed_tool_error(endpoint, params):
    url, token = endpoint
    response = rpc(url, token, "tools/call", params)
    _assert_clean(response)
    result = response.json()["result"]
    text = result["content"][0]["text"]
    if result["isError"]:
        payload = json.loads(text)
        assert payload["code"] in ERROR_CODES
        assert payload["n"] == 0
        assert "Traceback" not in payload["err"]


def test_the_server_is_healthy_after_fuzzing(endpoint):
    url, token = endpoint
    assert rpc(url, token, "ping").json()["result"] == {}
