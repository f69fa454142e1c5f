"""Managers and their store mappings, with the mapping rule of each kind of manager.

The rules, enforced here for every writer (the admin, commands, tests):

* a store manager maps to exactly one store;
* a regional manager maps to at least one store;
* head office sees every store through ``retail.visible_store_ids()`` and takes no
  mappings: they would never be read, so a mapping for head office is refused
  rather than silently ignored.

Mappings are read live by row-level security, so a change here reaches the very
next tool call of the manager concerned; nothing is cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction

from retail.errors import InvalidInput
from retail.models import Manager, ManagerKind, ManagerStore, Store


class MappingRuleBroken(InvalidInput):
    """A manager's store mappings would break the rule of its kind."""


def mapping_rule_check(*, name: str, kind: str, store_count: int) -> None:
    """Raise :class:`MappingRuleBroken` if ``store_count`` mappings do not suit ``kind``."""
    who = name or "This manager"
    if kind == ManagerKind.HEAD_OFFICE and store_count:
        raise MappingRuleBroken(
            f"{who} is head office, which sees every store and takes no store mappings; "
            "remove its mappings.",
            reason="head_office_mapped",
        )
    if kind == ManagerKind.STORE and store_count != 1:
        raise MappingRuleBroken(
            f"A store manager maps to exactly one store; {who} would have {store_count}.",
            reason="store_manager_not_one_store",
        )
    if kind == ManagerKind.REGIONAL and store_count < 1:
        raise MappingRuleBroken(
            f"A regional manager maps to at least one store; {who} would have none.",
            reason="regional_manager_without_stores",
        )


@transaction.atomic
def manager_save(*, manager: Manager, store_ids: Iterable[int]) -> Manager:
    """Save ``manager`` and make its mappings exactly ``store_ids``, checking the rule."""
    wanted = set(store_ids)
    mapping_rule_check(name=manager.name, kind=manager.kind, store_count=len(wanted))
    if manager.pk is None:  # the admin's add form clears the generated key until saving
        manager.pk = Manager._meta.pk.get_default()
    try:
        manager.full_clean()
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages)) from exc
    # Serialise with store_managers_set, which reads this manager's mappings to check them.
    list(Manager.objects.select_for_update().filter(pk=manager.pk).values_list("pk"))
    manager.save()
    _mappings_replace(manager, wanted)
    return manager


@transaction.atomic
def store_managers_set(*, store: Store, manager_ids: Iterable[UUID]) -> None:
    """Make the managers mapped to ``store`` exactly ``manager_ids``, checking each rule."""
    wanted = set(manager_ids)
    current = set(store.manager_mappings.values_list("manager_id", flat=True))
    changed = wanted ^ current
    managers = Manager.objects.select_for_update().filter(pk__in=changed).order_by("pk")
    for manager in managers:
        stores = set(manager.store_mappings.values_list("store_id", flat=True))
        if manager.pk in wanted:
            stores.add(store.pk)
        else:
            stores.discard(store.pk)
        mapping_rule_check(name=manager.name, kind=manager.kind, store_count=len(stores))
        _mappings_replace(manager, stores)


def _mappings_replace(manager: Manager, store_ids: set[int]) -> None:
    current = set(manager.store_mappings.values_list("store_id", flat=True))
    if gone := current - store_ids:
        ManagerStore.objects.filter(manager=manager, store_id__in=gone).delete()
    ManagerStore.objects.bulk_create(
        [ManagerStore(manager=manager, store_id=store_id) for store_id in store_ids - current]
    )
