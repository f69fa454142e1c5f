"""The mapping rule of each kind of manager, enforced by the services for every writer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from retail.errors import InvalidInput
from retail.models import Manager, ManagerStore, Store
from retail.services.managers import (
    MappingRuleBroken,
    manager_save,
    mapping_rule_check,
    store_managers_set,
)
from tests.identities import SEATTLE

EMAIL = "service-rules@zava.example"


def store(name: str) -> Store:
    return Store.objects.get(store_name=f"Zava Retail {name}")


def mapped(manager: Manager) -> set[str]:
    return set(manager.store_mappings.values_list("store__store_name", flat=True))


@pytest.fixture
def scratch(database) -> Iterator[None]:
    yield
    Manager.objects.filter(email=EMAIL).delete()


@pytest.mark.parametrize(
    ("kind", "count", "reason"),
    [
        ("store", 0, "store_manager_not_one_store"),
        ("store", 2, "store_manager_not_one_store"),
        ("regional", 0, "regional_manager_without_stores"),
        ("head_office", 1, "head_office_mapped"),
    ],
)
def test_each_kind_refuses_the_wrong_number_of_stores(kind, count, reason):
    with pytest.raises(MappingRuleBroken) as caught:
        mapping_rule_check(name="X", kind=kind, store_count=count)
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    ("kind", "count"), [("store", 1), ("regional", 1), ("regional", 5), ("head_office", 0)]
)
def test_each_kind_accepts_the_right_number_of_stores(kind, count):
    mapping_rule_check(name="X", kind=kind, store_count=count)


def test_manager_save_writes_the_manager_and_exactly_its_mappings(scratch):
    manager = Manager(name="Rules", email=EMAIL, kind="regional")
    manager_save(manager=manager, store_ids=[store("Seattle").pk, store("Tacoma").pk])
    assert mapped(manager) == {"Zava Retail Seattle", "Zava Retail Tacoma"}

    manager_save(manager=manager, store_ids=[store("Tacoma").pk, store("Online").pk])
    assert mapped(manager) == {"Zava Retail Tacoma", "Zava Retail Online"}


def test_manager_save_refuses_a_broken_rule_and_writes_nothing(scratch):
    with pytest.raises(MappingRuleBroken):
        manager_save(
            manager=Manager(name="Rules", email=EMAIL, kind="store"),
            store_ids=[store("Seattle").pk, store("Tacoma").pk],
        )
    assert not Manager.objects.filter(email=EMAIL).exists()


def test_manager_save_reports_invalid_fields_as_invalid_input(scratch):
    with pytest.raises(InvalidInput, match="email"):
        manager_save(
            manager=Manager(name="Rules", email="not an email", kind="head_office"), store_ids=[]
        )


def test_store_managers_set_checks_every_manager_it_touches(scratch):
    regional = Manager(name="Rules", email=EMAIL, kind="regional")
    manager_save(manager=regional, store_ids=[store("Seattle").pk])
    everett = store("Everett")
    kept = set(everett.manager_mappings.values_list("manager_id", flat=True))

    store_managers_set(store=everett, manager_ids=kept | {regional.pk})
    assert mapped(regional) == {"Zava Retail Seattle", "Zava Retail Everett"}

    seattle_manager = Manager.objects.get(pk=SEATTLE.id)
    with pytest.raises(MappingRuleBroken, match="Seattle store manager would have 2"):
        store_managers_set(store=everett, manager_ids=kept | {regional.pk, seattle_manager.pk})
    assert mapped(seattle_manager) == {"Zava Retail Seattle"}

    store_managers_set(store=everett, manager_ids=kept)
    assert mapped(regional) == {"Zava Retail Seattle"}
    assert set(everett.manager_mappings.values_list("manager_id", flat=True)) == kept


def test_a_refused_store_change_leaves_every_mapping_as_it_was(scratch):
    seattle = store("Seattle")
    before = set(ManagerStore.objects.values_list("manager_id", "store_id"))
    with pytest.raises(MappingRuleBroken):
        store_managers_set(store=seattle, manager_ids=[])  # would strand its store manager
    assert set(ManagerStore.objects.values_list("manager_id", "store_id")) == before
