"""semantic_search_products over real HTTP: relevant, bounded, and strict about input."""

from __future__ import annotations

import pytest

from tests.identities import SEATTLE
from tests.mcp_client import tool_json


@pytest.fixture
def search(session_of):
    def run(**arguments):
        return session_of(SEATTLE).call_tool("semantic_search_products", arguments)

    return run


def _products(result) -> list[dict]:
    payload = tool_json(result)
    assert not result.isError, payload
    return [dict(zip(payload["c"], row, strict=True)) for row in payload["r"]]


@pytest.mark.parametrize(
    ("query", "expected_type"),
    [
        ("containers for paint", "Painting Supplies"),
        ("waterproof electrical box for outdoor use", "Electrical Boxes & Covers"),
        ("15 amp circuit breaker", "Circuit Breakers & Load Centers"),
        ("LED light bulbs for kitchen ceiling", "Light Bulbs"),
    ],
)
def test_clear_queries_find_the_right_kind_of_product_first(search, query, expected_type):
    products = _products(search(query_description=query, max_rows=5))
    assert products[0]["type_name"] == expected_type
    assert [p["similarity_distance"] for p in products] == sorted(
        p["similarity_distance"] for p in products
    )


def test_results_carry_similarity_percent_consistent_with_distance(search):
    for product in _products(search(query_description="cordless drill", max_rows=10)):
        assert product["sp"] == round((1 - product["similarity_distance"]) * 100, 1)
        assert product["sp"] >= 30.0


def test_the_threshold_is_honoured(search):
    products = _products(search(query_description="garden hose", similarity_threshold=55))
    assert products
    assert all(p["sp"] >= 55 for p in products)
    payload = tool_json(search(query_description="garden hose", similarity_threshold=99))
    assert payload == {"c": [], "r": [], "n": 0, "msg": "No products >= 99.0%"}


def test_max_rows_is_honoured_and_capped_at_100(search):
    assert (
        len(_products(search(query_description="tools", max_rows=3, similarity_threshold=0))) == 3
    )
    many = _products(search(query_description="tools", max_rows=500, similarity_threshold=0))
    assert len(many) == 100


@pytest.mark.parametrize(
    "arguments",
    [
        {"query_description": ""},
        {"query_description": "   "},
        {"query_description": "paint", "similarity_threshold": 150},
        {"query_description": "paint", "similarity_threshold": -1},
        {"query_description": "paint", "max_rows": 0},
        {"query_description": "paint", "max_rows": -5},
    ],
)
def test_bad_arguments_are_rejected_cleanly(search, arguments):
    result = search(**arguments)
    assert result.isError
    payload = tool_json(result)
    assert payload["code"] == "validation_error"
    assert payload["n"] == 0
