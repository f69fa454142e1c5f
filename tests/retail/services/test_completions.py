"""Suggestions for arguments, read as each kind of manager: only what the caller may see."""

from __future__ import annotations

import pytest

from retail.services.catalogue import category_names, product_type_names
from retail.services.completions import (
    MAX_SUGGESTIONS,
    RELATIVE_PERIODS,
    Suggest,
    suggest,
)
from retail.services.seeding import STORES
from retail.tenancy import run_as_tenant
from tests.identities import BELLEVUE, HEAD_OFFICE, MANAGER_KINDS, SEATTLE, kind_id, store_ids


def _suggest(spec, kind: Suggest, typed: str, **context):
    return run_as_tenant(spec.id, lambda: suggest(kind, typed, **context))


def _short(store_id: int) -> str:
    return STORES[store_id - 1].name.removeprefix("Zava Retail ")


@pytest.mark.parametrize("spec", MANAGER_KINDS, ids=kind_id)
def test_store_names_are_the_callers_own_and_no_others(database, spec):
    found = _suggest(spec, Suggest.STORE, "")
    assert found.values == [_short(i) for i in store_ids(spec)]
    assert found.total == len(store_ids(spec))


def test_a_store_manager_completes_their_store_and_not_another(database):
    assert _suggest(SEATTLE, Suggest.STORE, "se").values == ["Seattle"]
    assert _suggest(BELLEVUE, Suggest.STORE, "Se").values == []
    assert _suggest(SEATTLE, Suggest.STORE, "Be").values == []


def test_categories_match_a_prefix_of_the_name_or_of_a_word(database):
    assert _suggest(SEATTLE, Suggest.CATEGORY, "Ha").values == ["Hand Tools", "Hardware"]
    assert _suggest(SEATTLE, Suggest.CATEGORY, "out").values == ["Garden & Outdoor"]
    everything = _suggest(SEATTLE, Suggest.CATEGORY, "")
    assert everything.values == run_as_tenant(SEATTLE.id, category_names)
    assert len(everything.values) == 9


def test_product_types_narrow_to_the_chosen_category(database):
    found = _suggest(SEATTLE, Suggest.PRODUCT_TYPE, "", category="hand tools")
    assert "Hand Saws" in found.values and "Power Saws" not in found.values
    assert _suggest(SEATTLE, Suggest.PRODUCT_TYPE, "Sa", category="Hand Tools").values == [
        "Hand Saws"
    ]
    # whole names that start with the text come before names with a word that does
    power = _suggest(SEATTLE, Suggest.PRODUCT_TYPE, "sa", category="Power Tools")
    assert power.values == ["Sanders", "Power Saws"]
    assert _suggest(SEATTLE, Suggest.PRODUCT_TYPE, "saws").values == ["Hand Saws", "Power Saws"]
    # a category still being typed does not fail the completion: every type matches
    unfinished = _suggest(SEATTLE, Suggest.PRODUCT_TYPE, "Power", category="Hand To")
    assert unfinished.values == ["Power Saws", "Extension Cords & Power Strips"]


def test_periods_are_relative_names_then_the_years_of_the_callers_orders(database):
    found = _suggest(SEATTLE, Suggest.PERIOD, "")
    assert found.values[: len(RELATIVE_PERIODS)] == list(RELATIVE_PERIODS)
    years = found.values[len(RELATIVE_PERIODS) :]
    assert years == sorted(years, reverse=True) and years[0] == "2026"
    assert _suggest(SEATTLE, Suggest.PERIOD, "last_q").values == ["last_quarter"]
    assert _suggest(SEATTLE, Suggest.PERIOD, "202").values == years


def test_an_answer_holds_at_most_the_specs_hundred_values(database):
    every_type = run_as_tenant(HEAD_OFFICE.id, product_type_names)
    found = _suggest(HEAD_OFFICE, Suggest.PRODUCT_TYPE, "")
    assert len(every_type) <= MAX_SUGGESTIONS
    assert found.total == len(every_type) and not found.has_more
