"""``mcp_tools.answers``: the reference's compact JSON, its error shape, and short
validation messages that never echo what was sent."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from mcp_tools.answers import compact_result, error_payload, text_answer, validation_summary
from retail.errors import InvalidInput, QueryTimeout
from retail.tenancy import QueryResult


def test_rows_come_as_columns_rows_and_a_count():
    result = QueryResult(columns=["store", "revenue"], rows=[["Seattle", 1.5], ["Bellevue", 2]])
    assert json.loads(compact_result(result)) == {
        "c": ["store", "revenue"],
        "r": [["Seattle", 1.5], ["Bellevue", 2]],
        "n": 2,
    }


def test_no_rows_says_so():
    assert json.loads(compact_result(QueryResult(columns=["x"], rows=[]))) == {
        "c": [],
        "r": [],
        "n": 0,
        "msg": "No rows",
    }


@pytest.mark.parametrize(("cut_by", "limit"), [("rows", "row limit"), ("bytes", "size limit")])
def test_a_cut_answer_is_flagged_and_says_which_limit(cut_by, limit):
    result = QueryResult(columns=["x"], rows=[[1], [2]], truncated=True, truncated_by=cut_by)
    payload = json.loads(compact_result(result))
    assert payload["truncated"] is True
    assert payload["n"] == 2
    assert f"at the {limit} after 2 rows" in payload["msg"]


def test_non_ascii_text_stays_readable():
    text = compact_result(QueryResult(columns=["name"], rows=[["Café"]]))
    assert "Café" in text


def test_an_error_has_its_stable_code_reason_and_the_query_cut_short():
    error = InvalidInput("Only SELECT is allowed.", reason="not_select")
    payload = json.loads(error_payload(error, query="DELETE " + "x" * 5_000))
    assert payload["err"] == "Only SELECT is allowed."
    assert payload["code"] == "validation_error"
    assert payload["reason"] == "not_select"
    assert len(payload["q"]) == 2_000
    assert (payload["c"], payload["r"], payload["n"]) == ([], [], 0)


def test_an_error_without_a_query_or_reason_leaves_them_out():
    payload = json.loads(error_payload(QueryTimeout("Too slow.")))
    assert payload["code"] == "timeout"
    assert "q" not in payload and "reason" not in payload


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int
    store: str


def test_validation_errors_name_each_field_and_never_echo_the_input():
    secret = "zava_" + "s" * 43
    with pytest.raises(ValidationError) as excinfo:
        _Arguments.model_validate({"days": secret, "token": secret})
    summary = validation_summary(excinfo.value)
    assert "days:" in summary and "store:" in summary and "token:" in summary
    assert secret not in summary


def test_a_text_answer_carries_the_facts_beside_its_content():
    answer = text_answer("{}", rows=3, fingerprint="abc", cache_hit=True)
    assert answer.content[0].text == "{}"
    assert (answer.rows, answer.fingerprint, answer.cache_hit) == (3, "abc", True)
