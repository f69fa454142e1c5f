"""Stores in the admin: list, search, kind filter, and deletion refused while a store trades."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from retail.models import Order, Store
from tests.retail.admin.conftest import errors_of, form_data

CHANGELIST = reverse("admin:retail_store_changelist")
SCRATCH_STORE = "Zava Retail Admin Test"


def seattle() -> Store:
    return Store.objects.get(store_name="Zava Retail Seattle")


@pytest.fixture
def scratch_store(database) -> Iterator[None]:
    yield
    Store.objects.filter(store_name=SCRATCH_STORE).delete()


def test_the_kind_filter_separates_online_from_physical_stores(admin_client, database):
    online = admin_client.get(CHANGELIST, {"kind": "online"}).context["cl"].result_list
    physical = admin_client.get(CHANGELIST, {"kind": "physical"}).context["cl"].result_list
    assert [s.store_name for s in online] == ["Zava Retail Online"]
    assert len(physical) == 7
    assert not any(s.is_online for s in physical)


def test_search_finds_a_store_by_name(admin_client, database):
    found = admin_client.get(CHANGELIST, {"q": "tacoma"}).context["cl"].result_list
    assert [s.store_name for s in found] == ["Zava Retail Tacoma"]


def test_deleting_a_store_with_orders_is_refused_with_counts(admin_client, database):
    store = seattle()
    url = reverse("admin:retail_store_delete", args=[store.pk])
    orders = Order.objects.filter(store=store).count()
    assert orders > 0

    page = admin_client.get(url).content.decode()
    assert "This store cannot be deleted." in page
    assert f"Zava Retail Seattle cannot be deleted: it has {orders:,} orders" in page
    assert "Yes, I\u2019m sure" not in page  # no way to confirm

    response = admin_client.post(url, {"post": "yes"})
    assert "This store cannot be deleted." in response.content.decode()
    assert Store.objects.filter(pk=store.pk).exists()


def test_the_delete_selected_action_refuses_stores_with_orders(admin_client, database):
    names = ["Zava Retail Seattle", "Zava Retail Online"]
    stores = list(Store.objects.filter(store_name__in=names))
    response = admin_client.post(
        CHANGELIST,
        {
            "action": "delete_selected",
            ACTION_CHECKBOX_NAME: [s.pk for s in stores],
            "post": "yes",
        },
    )
    page = response.content.decode()
    assert "These stores cannot be deleted." in page
    assert "Zava Retail Online cannot be deleted: it has" in page
    assert Store.objects.filter(pk__in=[s.pk for s in stores]).count() == 2


def test_a_new_store_without_orders_can_be_added_and_deleted(admin_client, scratch_store):
    add_url = reverse("admin:retail_store_add")
    data = form_data(admin_client.get(add_url))
    data.update(store_name=SCRATCH_STORE)
    response = admin_client.post(add_url, data)
    assert response.status_code == 302, errors_of(response)
    store = Store.objects.get(store_name=SCRATCH_STORE)
    assert store.rls_user_id is not None

    url = reverse("admin:retail_store_delete", args=[store.pk])
    assert "Are you sure" in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Store.objects.filter(pk=store.pk).exists()
