"""Property-based fuzzing of the endpoint: any body, any arguments, always a clean answer.

Every response must be a well-formed JSON-RPC answer (result or error), an accepted
notification (202, empty), or a clean HTTP error with a JSON-RPC error body; never a
500, never a stack trace. Every tool is fuzzed with arguments drawn from the input
schema the server lists for it; its answers must be typed errors or results that
match its output schema. The server must stay healthy throughout.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail.services.table_docs import VALID_TABLE_NAMES
from tests.identities import PUGET_SOUND
from tests.mcp_client import post, rpc, text_json

pytestmark = pytest.mark.slow

# Every tool tools/list offers; test_every_listed_tool_is_fuzzed keeps this in step.
TOOLS = ["execute_sales_query", "get_multiple_table_schemas", "get_current_utc_date",
         "semantic_search_products", "get_store_performance", "get_top_products",
         "get_sales_trend", "plot_sales_trend", "get_inventory_alerts",
         "get_category_seasonality"]  # fmt: skip
ERROR_CODES = {"validation_error", "authorization_error", "timeout", "database_error",
               "unavailable", "internal_error"}  # fmt: skip
ARGUMENT_NAMES = ["postgresql_query", "table_names", "query_description", "max_rows",
                  "similarity_threshold", "period", "as_of", "store", "category", "chart",
                  "by", "limit", "granularity", "threshold_days", "window_days",
                  "extra"]  # fmt: skip
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Per tool, so the ten tools together stay within a few hundred calls.
FUZZ_EACH_TOOL = settings(FUZZ, max_examples=10)
LONGEST_STRING = 60  # schema limits run to 20,000 characters; the guard tests cover those
# Values a model would plausibly send, mixed into the schema's random ones so that
# fuzzing also reaches the tools' happy paths, not only their validation.
PLAUSIBLE: dict[str, list[Any]] = {
    "postgresql_query": ["SELECT count(*) FROM retail.orders",
                         "SELECT store_id, sum(total_amount) FROM retail.order_items GROUP BY 1",
                         "SELECT product_name FROM retail.products LIMIT 3"],
    "table_names": list(VALID_TABLE_NAMES),
    "query_description": ["cordless drill", "exterior paint", "garden hose"],
    "period": ["2025", "2025-Q2", "2026-06", "2025-03-15", "last_30_days", "last_4_weeks",
               "last_quarter", "this_year", "2025-01-01..2025-03-31"],
    "as_of": ["2026-06-30", "2025-12-31", "2020-01-01"],
    "store": ["Seattle", "Zava Retail Bellevue", "Spokane"],
    "category": ["Power Tools", "paint & finishes", "Garden Gnomes"],
}  # fmt: skip

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


def _value(name: str, schema: dict[str, Any]) -> st.SearchStrategy:
    """Values that ``schema`` accepts, plausible ones for ``name`` among them."""
    if "anyOf" in schema:
        return st.one_of([_value(name, option) for option in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        shortest, longest = schema.get("minLength", 0), schema.get("maxLength", 1_000_000)
        plausible = [v for v in PLAUSIBLE.get(name, []) if shortest <= len(v) <= longest]
        text = st.text(min_size=shortest, max_size=min(longest, LONGEST_STRING))
        return st.sampled_from(plausible) | text if plausible else text
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(_value(name, schema["items"]), min_size=schema.get("minItems", 0),
                        max_size=min(schema.get("maxItems", 4), 4))  # fmt: skip
    raise AssertionError(f"no strategy for the schema of {name!r}: {schema}")


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts that ``schema`` (a tool's inputSchema) accepts."""
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: _value(name, properties[name]) for name in required},
        optional={name: _value(name, spec) for name, spec in properties.items()
                  if name not in required},
    )  # fmt: skip


def wrong_arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid arguments with one of them, or an unknown one, replaced by any JSON value."""
    names = [*schema.get("properties", {}), "extra"]
    return st.tuples(arguments_for(schema), st.sampled_from(names), json_values).map(
        lambda drawn: {**drawn[0], drawn[1]: drawn[2]}
    )


@pytest.fixture
def endpoint(zava_server, tokens):
    # A regional manager: the analytics tools then have several stores to report on.
    return zava_server.mcp_url, tokens[PUGET_SOUND.email]


@pytest.fixture(scope="module")
def listed_tools(zava_server, tokens) -> dict[str, dict[str, Any]]:
    """The tools the live server lists, by name."""
    response = rpc(zava_server.mcp_url, tokens[PUGET_SOUND.email], "tools/list")
    return {tool["name"]: tool for tool in response.json()["result"]["tools"]}


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


def _call_cleanly(url: str, token: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool; its answer must be a result or a typed tool error, never an internal one."""
    response = rpc(url, token, "tools/call", {"name": name, "arguments": arguments})
    _assert_clean(response)
    result = response.json()["result"]
    if result["isError"]:
        payload = text_json(result["content"][0]["text"], is_error=True)
        assert payload["code"] in ERROR_CODES - {"internal_error"}, payload
        assert payload["n"] == 0
        assert "Traceback" not in payload["err"]
    return result


@FUZZ
@given(params=tool_calls)
def test_any_tool_arguments_get_a_result_or_a_typed_tool_error(endpoint, params):
    _call_cleanly(*endpoint, params["name"], params["arguments"])


def test_every_listed_tool_is_fuzzed(listed_tools):
    assert sorted(listed_tools) == sorted(TOOLS)


@pytest.mark.parametrize("name", TOOLS)
@FUZZ_EACH_TOOL
@given(data=st.data())
def test_arguments_the_schema_allows_get_a_result_matching_the_output_schema_or_a_typed_error(
    endpoint, listed_tools, name, data
):
    tool = listed_tools[name]
    arguments = data.draw(arguments_for(tool["inputSchema"]), label="arguments")
    result = _call_cleanly(*endpoint, name, arguments)
    if not result["isError"] and "outputSchema" in tool:
        jsonschema.validate(result["structuredContent"], tool["outputSchema"])


@pytest.mark.parametrize("name", TOOLS)
@FUZZ_EACH_TOOL
@given(data=st.data())
def test_arguments_of_the_wrong_shape_get_a_typed_error_or_a_result(
    endpoint, listed_tools, name, data
):
    arguments = data.draw(wrong_arguments_for(listed_tools[name]["inputSchema"]), label="arguments")
    _call_cleanly(*endpoint, name, arguments)


def test_the_server_is_healthy_after_fuzzing(endpoint):
    url, token = endpoint
    assert rpc(url, token, "ping").json()["result"] == {}
