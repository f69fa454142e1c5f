"""Ready analysis prompts through real HTTP and the official client."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import McpError
from mcp.types import INVALID_PARAMS

from tests.identities import SEATTLE
from tests.mcp_client import SharedSession

PROMPTS = {
    "weekly_store_review": {"store": False, "as_of": False},
    "compare_my_stores": {"period": False, "metric": False},
    "find_products_like": {"description": True, "period": False},
    "restock_plan": {"threshold_days": False, "store": False, "as_of": False},
}


@pytest.fixture
def seattle(session_of) -> SharedSession:
    return session_of(SEATTLE)


def _get(session: SharedSession, name: str, arguments: dict[str, str] | None = None) -> str:
    result = session.run(lambda s: s.get_prompt(name, arguments))
    (message,) = result.messages
    assert message.role == "user"
    return message.content.text


def test_prompts_list_with_their_arguments(seattle):
    listed = seattle.run(lambda s: s.list_prompts())
    found = {
        prompt.name: {arg.name: arg.required for arg in prompt.arguments}
        for prompt in listed.prompts
    }
    assert found == PROMPTS
    assert all(prompt.description and prompt.title for prompt in listed.prompts)
    assert all(arg.description for prompt in listed.prompts for arg in prompt.arguments)


def test_weekly_review_names_the_tools_and_passes_the_arguments(seattle):
    text = _get(seattle, "weekly_store_review", {"store": "Seattle"})
    assert 'get_store_performance {"period": "last_week", "store": "Seattle"}' in text
    assert 'get_inventory_alerts {"threshold_days": 14, "store": "Seattle"}' in text
    assert "never invent figures" in text


def test_defaults_apply_when_arguments_are_left_out(seattle):
    text = _get(seattle, "compare_my_stores")
    assert 'get_store_performance {"period": "last_30_days", "chart": true}' in text
    assert "on revenue for last_30_days" in text


def test_find_products_like_searches_by_meaning(seattle):
    text = _get(seattle, "find_products_like", {"description": "outdoor junction box"})
    assert '"query_description": "outdoor junction box"' in text
    assert "semantic_search_products" in text
    assert "execute_sales_query" in text


def test_restock_plan_takes_a_threshold_given_as_text(seattle):
    text = _get(seattle, "restock_plan", {"threshold_days": "21"})
    assert '"threshold_days": 21' in text
    assert "covers\n   42 days" in text or "42 days" in text


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("find_products_like", None),  # a required argument missing
        ("restock_plan", {"threshold_days": "many"}),
        ("restock_plan", {"threshold_days": "0"}),
        ("no_such_prompt", None),
    ],
)
def test_bad_prompt_requests_are_invalid_params(seattle, name, arguments):
    async def work(session):
        with pytest.raises(McpError) as error:
            await session.get_prompt(name, arguments)
        return error.value.error

    error = seattle.run(work)
    assert error.code == INVALID_PARAMS
    assert error.message
