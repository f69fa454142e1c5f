"""completion/complete through real HTTP and the official client: suggestions for
prompt and resource-template arguments, only from what the caller may see, audited."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from mcp import types
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from mcp_tools.resources import CATALOGUE_URI
from retail.models import AuditedRequest
from retail.services.seeding import STORES
from tests.identities import BELLEVUE, HEAD_OFFICE, MANAGER_KINDS, PUGET_SOUND, SEATTLE, kind_id
from tests.mcp_client import JSON_HEADERS, SharedSession, fenced, post, with_session

EVERY_STORE = {store.name.removeprefix("Zava Retail ") for store in STORES}


def _prompt(name: str) -> types.PromptReference:
    return types.PromptReference(type="ref/prompt", name=name)


CATALOGUE = types.ResourceTemplateReference(type="ref/resource", uri=CATALOGUE_URI)


def _complete(
    session: SharedSession, ref, name: str, value: str, context: dict | None = None
) -> types.Completion:
    answer = session.run(lambda s: s.complete(ref, {"name": name, "value": value}, context))
    return answer.completion


def test_the_server_advertises_completions(url, token):
    async def work(session):
        return await session.initialize()

    result = with_session(url, token, work)
    assert result.capabilities.completions is not None


def test_seattles_manager_completes_se_to_seattle_only(session_of):
    found = _complete(session_of(SEATTLE), _prompt("weekly_store_review"), "store", "Se")
    assert found.values == ["Seattle"]
    assert found.total == 1 and found.hasMore is False
    everything = _complete(session_of(SEATTLE), _prompt("restock_plan"), "store", "")
    assert everything.values == ["Seattle"]


@pytest.mark.parametrize("typed", ["", "Se", "s", "Zava", "Bel", "e"])
def test_no_other_stores_name_ever_reaches_a_store_manager(session_of, typed):
    for spec, own in ((SEATTLE, "Seattle"), (BELLEVUE, "Bellevue")):
        found = _complete(session_of(spec), _prompt("weekly_store_review"), "store", typed)
        assert set(found.values) <= {own}, (spec.email, typed, found.values)
    assert (
        _complete(session_of(BELLEVUE), _prompt("weekly_store_review"), "store", "Se").values == []
    )


def test_a_regional_manager_completes_among_their_stores(session_of):
    found = _complete(session_of(PUGET_SOUND), _prompt("weekly_store_review"), "store", "")
    assert set(found.values) == {"Seattle", "Bellevue", "Tacoma", "Everett", "Redmond", "Kirkland"}
    assert set(_complete(session_of(HEAD_OFFICE), _prompt("restock_plan"), "store", "").values) == (
        EVERY_STORE
    )


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
def test_categories_complete_for_everyone(session_of, spec):
    found = _complete(session_of(spec), CATALOGUE, "category", "Ha")
    assert found.values == ["Hand Tools", "Hardware"]


def test_product_types_complete_within_the_chosen_category(session_of):
    found = _complete(
        session_of(SEATTLE), CATALOGUE, "product_type", "sa", {"category": "Hand Tools"}
    )
    assert found.values == ["Hand Saws"]
    uri = CATALOGUE_URI.format(category=quote("Hand Tools"), product_type=quote(found.values[0]))
    read = session_of(SEATTLE).run(lambda s: s.read_resource(AnyUrl(uri)))
    products = json.loads(fenced(read.contents[0].text)[1])
    assert products["c"] == ["product_id", "sku", "product_name", "base_price"]
    assert products["n"] == len(products["r"]) >= 1


def test_periods_complete_to_relative_names_and_years_with_orders(session_of):
    seattle = session_of(SEATTLE)
    assert _complete(seattle, _prompt("compare_my_stores"), "period", "last_3").values == [
        "last_30_days"
    ]
    assert "last_quarter" in _complete(seattle, _prompt("find_products_like"), "period", "l").values
    years = _complete(seattle, _prompt("compare_my_stores"), "period", "20").values
    assert years[0] == "2026" and "2020" in years and "2019" not in years
    metrics = _complete(seattle, _prompt("compare_my_stores"), "metric", "").values
    assert metrics == ["revenue", "orders", "units", "average_order_value", "gross_margin"]


def test_arguments_without_suggestions_and_foreign_arguments_get_none(session_of):
    seattle = session_of(SEATTLE)
    assert _complete(seattle, _prompt("find_products_like"), "description", "dr").values == []
    # "store" is not an argument of compare_my_stores: nothing, not the store list
    assert _complete(seattle, _prompt("compare_my_stores"), "store", "").values == []


def test_an_unknown_prompt_or_template_is_invalid_params(session_of):
    with pytest.raises(McpError) as raised:
        _complete(session_of(SEATTLE), _prompt("no_such_prompt"), "store", "Se")
    assert raised.value.error.code == types.INVALID_PARAMS
    other = types.ResourceTemplateReference(type="ref/resource", uri="zava://stores/{store}")
    with pytest.raises(McpError):
        _complete(session_of(SEATTLE), other, "store", "Se")


def _completion_request(url: str, token: str, ref: dict, argument: dict) -> tuple[dict, str]:
    client_id = f"complete-{uuid.uuid4().hex}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "completion/complete",
            "params": {"ref": ref, "argument": argument}}  # fmt: skip
    response = post(url, body, token=token, headers={**JSON_HEADERS, "X-Request-ID": client_id})
    assert response.status_code == 200
    return response.json(), client_id


def test_every_completion_is_audited_with_the_caller_and_what_was_typed(url, tokens, database):
    ref = {"type": "ref/prompt", "name": "weekly_store_review"}
    answer, client_id = _completion_request(
        url, tokens[SEATTLE.email], ref, {"name": "store", "value": "Se"}
    )
    assert answer["result"]["completion"]["values"] == ["Seattle"]
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    assert (row.method, row.tool, row.outcome) == (
        "completion/complete",
        "weekly_store_review",
        "ok",
    )
    assert row.manager_id == SEATTLE.id
    assert row.arguments == {"argument": {"name": "store", "value": "Se"}}

    unknown = {"type": "ref/prompt", "name": "made_up"}
    answer, client_id = _completion_request(
        url, tokens[SEATTLE.email], unknown, {"name": "store", "value": ""}
    )
    assert answer["error"]["code"] == types.INVALID_PARAMS
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    assert (row.method, row.outcome, row.error_code) == (
        "completion/complete",
        "refused",
        "validation_error",
    )


def _raw_completion(url: str, token: str, params: dict) -> tuple[httpx.Response, str]:
    """A completion request as raw JSON, so a lone surrogate travels as a JSON escape."""
    client_id = f"complete-{uuid.uuid4().hex}"
    body = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "completion/complete", "params": params}
    )
    headers = {**JSON_HEADERS, "Authorization": f"Bearer {token}", "X-Request-ID": client_id}
    return httpx.post(url, content=body, headers=headers, timeout=30), client_id


def _log_after(log: Path, offset: int, request_id: str) -> list[dict]:
    """The JSON log records written since ``offset``, once the request's own line is in."""
    deadline = time.monotonic() + 10
    while True:
        records = [
            json.loads(line)
            for line in log.read_text()[offset:].splitlines()
            if line.startswith("{")
        ]
        if any(r.get("request_id") == request_id for r in records) or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


CATALOGUE_REF = {"type": "ref/resource", "uri": CATALOGUE_URI}
WEEKLY_REF = {"type": "ref/prompt", "name": "weekly_store_review"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (
            {"ref": CATALOGUE_REF, "argument": {"name": "product_type", "value": "sa"},
             "context": {"arguments": {"category": "\udfff"}}},
            "context.arguments.category",
        ),
        ({"ref": WEEKLY_REF, "argument": {"name": "store", "value": "\ud800"}}, "argument.value"),
        ({"ref": WEEKLY_REF, "argument": {"name": "st\udc00re", "value": "Se"}}, "argument.name"),
    ],
    ids=["context", "value", "name"],
)  # fmt: skip
def test_a_lone_surrogate_anywhere_in_a_completion_is_invalid_params_and_audited_whole(
    zava_server, tokens, database, params, field
):
    offset = len(zava_server.log.read_text())
    response, client_id = _raw_completion(zava_server.mcp_url, tokens[SEATTLE.email], params)

    assert response.status_code == 200
    error = json.loads(response.content.decode("utf-8"))["error"]  # strict UTF-8
    assert error["code"] == types.INVALID_PARAMS
    assert field in error["message"] and "incident" not in error["message"]
    records = _log_after(zava_server.log, offset, response.headers["X-Request-ID"])
    assert not [r for r in records if r["level"] in {"ERROR", "CRITICAL"}], records
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    assert (row.method, row.outcome, row.error_code) == (
        "completion/complete",
        "refused",
        "validation_error",
    )
    assert row.sanitised  # the surrogate is kept, escaped, not dropped
    recorded = {"argument": params["argument"]} | (
        {"context": params["context"]} if "context" in params else {}
    )
    # the audit keeps a lone surrogate as the text of its escape: "\\udfff"
    assert row.arguments == json.loads(json.dumps(recorded).replace("\\u", "\\\\u"))


def test_a_completions_context_is_audited_with_its_argument(zava_server, tokens, database):
    params = {"ref": CATALOGUE_REF, "argument": {"name": "product_type", "value": "sa"},
              "context": {"arguments": {"category": "Hand Tools"}}}  # fmt: skip
    response, client_id = _raw_completion(zava_server.mcp_url, tokens[SEATTLE.email], params)

    assert response.json()["result"]["completion"]["values"] == ["Hand Saws"]
    (row,) = AuditedRequest.objects.filter(client_request_id=client_id)
    assert row.outcome == "ok"
    assert row.arguments == {"argument": params["argument"], "context": params["context"]}
