"""The catalogue by category and product type, read in a tenant context."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings

from retail.errors import InvalidInput
from retail.services.catalogue import category_names, product_type_names, products_of_type
from retail.tenancy import run_as_tenant
from tests.identities import HEAD_OFFICE, SEATTLE

CATALOG = json.loads(
    (Path(settings.BASE_DIR) / "retail" / "seed_data" / "catalog.json").read_text()
)["categories"]


def test_names_are_the_seeded_catalogues(database):
    garden = next(c for c in CATALOG if c["name"] == "Garden & Outdoor")
    assert run_as_tenant(SEATTLE.id, category_names) == sorted(c["name"] for c in CATALOG)
    types = run_as_tenant(SEATTLE.id, lambda: product_type_names("garden & outdoor"))
    assert types == sorted(t["name"] for t in garden["types"])


@pytest.mark.parametrize("spec", [SEATTLE, HEAD_OFFICE])
def test_one_types_products_in_any_case(database, spec):
    hand_saws = next(
        t
        for c in CATALOG
        if c["name"] == "Hand Tools"
        for t in c["types"]
        if t["name"] == "Hand Saws"
    )
    result = run_as_tenant(spec.id, lambda: products_of_type("HAND TOOLS", "hand saws"))
    assert result.columns == ["product_id", "sku", "product_name", "base_price"]
    assert [row[2] for row in result.rows] == sorted(p["name"] for p in hand_saws["products"])


def test_a_type_of_another_category_is_refused_with_the_valid_ones(database):
    with pytest.raises(InvalidInput) as refused:
        run_as_tenant(SEATTLE.id, lambda: products_of_type("Hand Tools", "Power Saws"))
    assert refused.value.reason == "product_type"
    assert "Unknown product type 'Power Saws' in Hand Tools. Valid: " in refused.value.message
    with pytest.raises(InvalidInput, match="Unknown category"):
        run_as_tenant(SEATTLE.id, lambda: products_of_type("Gnomes", "Hand Saws"))
