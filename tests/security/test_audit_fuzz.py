"""Property-based: any Unicode in any string a client sends is answered cleanly and audited.

Every string argument of every tool, every resource URI, every prompt argument and
every string of a completion request (its argument and its context) gets arbitrary
text, lone UTF-16 surrogates included (sent as JSON escapes, as
``json.dumps`` writes them). The answer is never a 500, is always valid UTF-8 JSON,
and the request leaves exactly one audit row.
"""

from __future__ import annotations

import json
import uuid

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retail.models import AuditedRequest
from tests.mcp_client import JSON_HEADERS

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Every string parameter: (tool, argument, whether it takes a list of strings).
TOOL_STRINGS = [
    ("execute_sales_query", "postgresql_query", False),
    ("get_multiple_table_schemas", "table_names", True),
    ("semantic_search_products", "query_description", False),
    *[("get_store_performance", name, False) for name in ("period", "store", "as_of")],
    *[("get_top_products", name, False) for name in ("period", "by", "category", "as_of")],
    *[(tool, name, False) for tool in ("get_sales_trend", "plot_sales_trend")
      for name in ("period", "granularity", "category", "as_of")],
    *[("get_inventory_alerts", name, False) for name in ("store", "as_of")],
    *[("get_category_seasonality", name, False) for name in ("category", "as_of")],
]  # fmt: skip
PROMPT_STRINGS = [
    ("weekly_store_review", "store"),
    ("weekly_store_review", "as_of"),
    ("compare_my_stores", "period"),
    ("compare_my_stores", "metric"),
    ("find_products_like", "description"),
    ("find_products_like", "period"),
    ("restock_plan", "store"),
    ("restock_plan", "as_of"),
]

# Any code point, lone surrogates included (st.characters() leaves those out).
any_character = st.characters() | st.integers(0xD800, 0xDFFF).map(chr)
any_text = st.text(any_character, max_size=60)


def answered_and_audited(
    url: str, token: str, method: str, params: dict
) -> tuple[AuditedRequest, dict]:
    """Send, check the answer is clean JSON-RPC; the request's one audit row, the answer."""
    client_id = f"fuzz17-{uuid.uuid4().hex}"
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}", "X-Request-ID": client_id}
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
    response = httpx.post(url, content=body, headers=headers, timeout=60)
    assert response.status_code == 200, response.text[:300]
    answer = json.loads(response.content.decode("utf-8"))  # strict UTF-8
    assert answer["id"] == 7
    assert ("result" in answer) != ("error" in answer)
    assert "Traceback" not in response.text
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    return row, answer


@FUZZ
@given(target=st.sampled_from(TOOL_STRINGS), text=any_text)
def test_any_text_in_any_tool_argument(database, url, token, target, text):
    tool, argument, is_list = target
    arguments = {argument: [text] if is_list else text}
    row, _ = answered_and_audited(url, token, "tools/call", {"name": tool, "arguments": arguments})
    assert row.tool == tool
    assert row.method == "tools/call"


@FUZZ
@given(uri=any_text | any_text.map(lambda text: f"zava://schema/{text}"))
def test_any_resource_uri(database, url, token, uri):
    row, _ = answered_and_audited(url, token, "resources/read", {"uri": uri})
    assert row.method == "resources/read"
    assert row.tool == uri or row.tool == "(unknown)"


@FUZZ
@given(target=st.sampled_from(PROMPT_STRINGS), text=any_text)
def test_any_text_in_any_prompt_argument(database, url, token, target, text):
    prompt, argument = target
    params = {"name": prompt, "arguments": {argument: text}}
    row, _ = answered_and_audited(url, token, "prompts/get", params)
    assert (row.method, row.tool) == ("prompts/get", prompt)


# A completion's ref (a prompt or a resource template) with an argument it completes.
COMPLETION_REFS = [
    ({"type": "ref/prompt", "name": "weekly_store_review"}, "store"),
    ({"type": "ref/prompt", "name": "compare_my_stores"}, "period"),
    ({"type": "ref/resource", "uri": "zava://catalogue/{category}/{product_type}"}, "product_type"),
]


@FUZZ
@given(
    target=st.sampled_from(COMPLETION_REFS),
    value=any_text,
    context=st.none()
    | st.dictionaries(st.sampled_from(["category", "store"]) | any_text, any_text),
)
def test_any_text_in_a_completion_and_its_context(database, url, token, target, value, context):
    ref, argument = target
    params: dict = {"ref": ref, "argument": {"name": argument, "value": value}}
    if context is not None:
        params["context"] = {"arguments": context}
    row, answer = answered_and_audited(url, token, "completion/complete", params)
    assert row.method == "completion/complete"
    # suggestions or a refusal naming the field; never "the incident has been logged"
    assert answer.get("error", {}).get("code") in {None, -32602}, answer
    assert row.tool == ref.get("name", ref.get("uri"))
    assert set(row.arguments) == {"argument"} | ({"context"} if context is not None else set())
