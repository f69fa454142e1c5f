"""Stores: what stands in the way of deleting one.

Orders, order items, inventory and customers refer to their store with
``PROTECT``, so the database refuses to delete a store that trades. This module
says so up front, with counts instead of a list of every protected row.
"""

from __future__ import annotations

from django.db import transaction

from retail.errors import InvalidInput
from retail.models import Customer, Inventory, Order, OrderItem, Store

# What keeps a store alive, in the order a person would name it.
_BLOCKERS = (
    ("order", "orders", Order),
    ("order item", "order items", OrderItem),
    ("inventory row", "inventory rows", Inventory),
    ("customer", "customers", Customer),
)


class StoreInUse(InvalidInput):
    """The store has orders (or stock or customers) and cannot be deleted."""


def store_delete_blockers(*, store: Store) -> list[str]:
    """Human counts of the rows that protect ``store``, e.g. ``["1,204 orders"]``."""
    found = []
    for singular, plural, model in _BLOCKERS:
        field = "primary_store" if model is Customer else "store"
        count = model.objects.filter(**{field: store}).count()
        if count:
            found.append(f"{count:,} {singular if count == 1 else plural}")
    return found


@transaction.atomic
def store_delete(*, store: Store) -> None:
    """Delete a store that has no orders, stock or customers; refuse clearly otherwise."""
    blockers = store_delete_blockers(store=store)
    if blockers:
        raise StoreInUse(
            f"{store.store_name} cannot be deleted: it has {', '.join(blockers)}.",
            reason="store_in_use",
        )
    store.delete()
