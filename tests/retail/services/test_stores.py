"""A store that trades cannot be deleted, and the refusal says why."""

from __future__ import annotations

import uuid

import pytest

from retail.models import Order, Store
from retail.services.stores import StoreInUse, store_delete, store_delete_blockers


def test_a_trading_store_lists_what_protects_it(database):
    seattle = Store.objects.get(store_name="Zava Retail Seattle")
    blockers = store_delete_blockers(store=seattle)
    assert blockers[0] == f"{Order.objects.filter(store=seattle).count():,} orders"
    assert any(b.endswith("customers") for b in blockers)


def test_deleting_a_trading_store_is_refused_and_keeps_it(database):
    seattle = Store.objects.get(store_name="Zava Retail Seattle")
    with pytest.raises(StoreInUse, match="Zava Retail Seattle cannot be deleted: it has"):
        store_delete(store=seattle)
    assert Store.objects.filter(pk=seattle.pk).exists()


def test_a_store_without_orders_is_deleted(database):
    store = Store.objects.create(store_name="Zava Retail Nowhere", rls_user_id=uuid.uuid4())
    try:
        assert store_delete_blockers(store=store) == []
        store_delete(store=store)
        assert not Store.objects.filter(pk=store.pk).exists()
    finally:
        Store.objects.filter(pk=store.pk).delete()
