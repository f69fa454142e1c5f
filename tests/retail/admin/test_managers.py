"""Managers and their store mappings through the admin's forms: the rules per kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.urls import reverse

from retail.models import Manager, ManagerStore, Store
from tests.identities import PUGET_SOUND, SEATTLE
from tests.retail.admin.conftest import errors_of, form_data

ADD_URL = reverse("admin:retail_manager_add")
EMAIL = "admin-forms@zava.example"
PREFIX = "store_mappings"


def change_url(manager: Manager) -> str:
    return reverse("admin:retail_manager_change", args=[manager.pk])


def store_ids(*names: str) -> list[int]:
    return [Store.objects.get(store_name=f"Zava Retail {n}").pk for n in names]


def with_new_mappings(data: dict[str, str], stores: list[int]) -> dict[str, str]:
    """Fill new mapping rows after the existing ones, adding rows as needed."""
    first = int(data[f"{PREFIX}-INITIAL_FORMS"])
    for offset, store_id in enumerate(stores):
        data[f"{PREFIX}-{first + offset}-store"] = str(store_id)
    total = max(int(data[f"{PREFIX}-TOTAL_FORMS"]), first + len(stores))
    data[f"{PREFIX}-TOTAL_FORMS"] = str(total)
    return data


def without_mappings(data: dict[str, str], stores: list[int]) -> dict[str, str]:
    """Tick "delete" on the existing rows of these stores."""
    for index in range(int(data[f"{PREFIX}-INITIAL_FORMS"])):
        if int(data[f"{PREFIX}-{index}-store"]) in stores:
            data[f"{PREFIX}-{index}-DELETE"] = "on"
    return data


def add_manager(client, *, kind: str, stores: list[int], name: str = "Form Test"):
    data = form_data(client.get(ADD_URL))
    data.update(name=name, email=EMAIL, kind=kind)
    return client.post(ADD_URL, with_new_mappings(data, stores))


def mapped(manager: Manager) -> set[int]:
    return set(manager.store_mappings.values_list("store_id", flat=True))


@pytest.fixture
def scratch(database) -> Iterator[None]:
    yield
    Manager.objects.filter(email=EMAIL).delete()


@pytest.fixture
def regional(admin_client, scratch) -> Manager:
    """A regional manager of Seattle and Tacoma, made through the admin."""
    response = add_manager(admin_client, kind="regional", stores=store_ids("Seattle", "Tacoma"))
    assert response.status_code == 302, errors_of(response)
    return Manager.objects.get(email=EMAIL)


class TestAddingManagers:
    def test_a_regional_manager_with_two_stores_is_created_with_both_mappings(
        self, admin_client, regional
    ):
        assert regional.kind == "regional"
        assert mapped(regional) == set(store_ids("Seattle", "Tacoma"))

    def test_a_store_manager_with_two_stores_is_refused_clearly(self, admin_client, scratch):
        response = add_manager(admin_client, kind="store", stores=store_ids("Seattle", "Tacoma"))
        assert response.status_code == 200
        assert "A store manager maps to exactly one store; Form Test would have 2." in (
            errors_of(response)
        )
        assert not Manager.objects.filter(email=EMAIL).exists()

    def test_a_store_manager_without_a_store_is_refused(self, admin_client, scratch):
        response = add_manager(admin_client, kind="store", stores=[])
        assert "exactly one store" in errors_of(response)
        assert not Manager.objects.filter(email=EMAIL).exists()

    def test_a_store_manager_with_one_store_is_created(self, admin_client, scratch):
        response = add_manager(admin_client, kind="store", stores=store_ids("Spokane"))
        assert response.status_code == 302, errors_of(response)
        assert mapped(Manager.objects.get(email=EMAIL)) == set(store_ids("Spokane"))

    def test_a_regional_manager_without_stores_is_refused(self, admin_client, scratch):
        response = add_manager(admin_client, kind="regional", stores=[])
        assert "A regional manager maps to at least one store" in errors_of(response)
        assert not Manager.objects.filter(email=EMAIL).exists()

    def test_head_office_with_a_mapping_is_refused_not_ignored(self, admin_client, scratch):
        response = add_manager(admin_client, kind="head_office", stores=store_ids("Seattle"))
        assert "takes no store mappings" in errors_of(response)
        assert not Manager.objects.filter(email=EMAIL).exists()

    def test_head_office_without_mappings_is_created(self, admin_client, scratch):
        response = add_manager(admin_client, kind="head_office", stores=[])
        assert response.status_code == 302, errors_of(response)
        assert mapped(Manager.objects.get(email=EMAIL)) == set()


class TestChangingMappings:
    def test_removing_one_of_two_stores_of_a_regional_manager_is_saved_and_logged(
        self, admin_client, regional
    ):
        data = form_data(admin_client.get(change_url(regional)))
        response = admin_client.post(
            change_url(regional), without_mappings(data, store_ids("Tacoma"))
        )
        assert response.status_code == 302, errors_of(response)
        assert mapped(regional) == set(store_ids("Seattle"))
        entry = LogEntry.objects.filter(object_id=str(regional.pk), action_flag=CHANGE).latest(
            "action_time"
        )
        assert "Deleted" in entry.get_change_message()
        assert "Tacoma" in entry.get_change_message()

    def test_removing_every_store_of_a_regional_manager_is_refused(self, admin_client, regional):
        data = form_data(admin_client.get(change_url(regional)))
        response = admin_client.post(
            change_url(regional), without_mappings(data, store_ids("Seattle", "Tacoma"))
        )
        assert "at least one store" in errors_of(response)
        assert mapped(regional) == set(store_ids("Seattle", "Tacoma"))

    def test_adding_a_store_to_a_regional_manager_is_saved(self, admin_client, regional):
        data = form_data(admin_client.get(change_url(regional)))
        response = admin_client.post(
            change_url(regional), with_new_mappings(data, store_ids("Online"))
        )
        assert response.status_code == 302, errors_of(response)
        assert mapped(regional) == set(store_ids("Seattle", "Tacoma", "Online"))

    def test_turning_a_two_store_regional_manager_into_a_store_manager_is_refused(
        self, admin_client, regional
    ):
        data = form_data(admin_client.get(change_url(regional)))
        data["kind"] = "store"
        response = admin_client.post(change_url(regional), data)
        assert "exactly one store" in errors_of(response)
        regional.refresh_from_db()
        assert regional.kind == "regional"

    def test_turning_a_regional_manager_into_head_office_needs_its_mappings_removed(
        self, admin_client, regional
    ):
        data = form_data(admin_client.get(change_url(regional)))
        data["kind"] = "head_office"
        assert "takes no store mappings" in errors_of(admin_client.post(change_url(regional), data))

        without_mappings(data, store_ids("Seattle", "Tacoma"))
        response = admin_client.post(change_url(regional), data)
        assert response.status_code == 302, errors_of(response)
        regional.refresh_from_db()
        assert (regional.kind, mapped(regional)) == ("head_office", set())


class TestTheStorePageInline:
    """The reverse inline on each store follows the same rules, manager by manager."""

    @staticmethod
    def store_url(name: str) -> str:
        return reverse("admin:retail_store_change", args=store_ids(name))

    def test_mapping_a_regional_manager_from_the_store_page(self, admin_client, regional):
        url = self.store_url("Everett")
        data = form_data(admin_client.get(url))
        first = int(data["manager_mappings-INITIAL_FORMS"])
        data[f"manager_mappings-{first}-manager"] = str(regional.pk)
        data["manager_mappings-TOTAL_FORMS"] = str(first + 1)
        response = admin_client.post(url, data)
        assert response.status_code == 302, errors_of(response)
        assert mapped(regional) == set(store_ids("Seattle", "Tacoma", "Everett"))

    def test_a_store_manager_cannot_gain_a_second_store_from_the_store_page(
        self, admin_client, database
    ):
        seattle_manager = Manager.objects.get(pk=SEATTLE.id)
        url = self.store_url("Everett")
        data = form_data(admin_client.get(url))
        first = int(data["manager_mappings-INITIAL_FORMS"])
        data[f"manager_mappings-{first}-manager"] = str(seattle_manager.pk)
        data["manager_mappings-TOTAL_FORMS"] = str(first + 1)
        response = admin_client.post(url, data)
        assert "A store manager maps to exactly one store; Seattle store manager would have 2." in (
            errors_of(response)
        )
        assert mapped(seattle_manager) == set(store_ids("Seattle"))

    def test_a_store_managers_only_store_cannot_be_unmapped_from_the_store_page(
        self, admin_client, database
    ):
        url = self.store_url("Seattle")
        data = form_data(admin_client.get(url))
        seattle_manager = Manager.objects.get(pk=SEATTLE.id)
        for index in range(int(data["manager_mappings-INITIAL_FORMS"])):
            if data[f"manager_mappings-{index}-manager"] == str(seattle_manager.pk):
                data[f"manager_mappings-{index}-DELETE"] = "on"
        response = admin_client.post(url, data)
        assert "exactly one store" in errors_of(response)
        assert ManagerStore.objects.filter(manager=seattle_manager).count() == 1

    def test_the_store_list_names_each_stores_managers(self, admin_client, database):
        response = admin_client.get(reverse("admin:retail_store_changelist"))
        puget = Manager.objects.get(pk=PUGET_SOUND.id)
        assert puget.name in response.content.decode()


class TestListingAndDeleting:
    def test_search_finds_managers_by_name_email_or_rls_identity(self, admin_client, database):
        changelist = reverse("admin:retail_manager_changelist")
        for term in ("puget", PUGET_SOUND.email, str(PUGET_SOUND.id)):
            found = admin_client.get(changelist, {"q": term}).context["cl"].result_list
            assert [m.pk for m in found] == [PUGET_SOUND.id], term

    def test_the_kind_filter(self, admin_client, database):
        changelist = reverse("admin:retail_manager_changelist")
        found = admin_client.get(changelist, {"kind__exact": "regional"}).context["cl"]
        assert {m.kind for m in found.result_list} == {"regional"}
        assert len(found.result_list) == 2

    def test_a_manager_with_tokens_is_kept_and_the_page_says_to_deactivate(
        self, admin_client, regional
    ):
        from retail.services.tokens import token_issue

        token_issue(manager=regional, name="keep")
        url = reverse("admin:retail_manager_delete", args=[regional.pk])
        page = admin_client.get(url).content.decode()
        assert "untick" in page and "Is active" in page
        admin_client.post(url, {"post": "yes"})
        assert Manager.objects.filter(pk=regional.pk).exists()

    def test_a_manager_without_tokens_can_be_deleted(self, admin_client, regional):
        url = reverse("admin:retail_manager_delete", args=[regional.pk])
        assert admin_client.post(url, {"post": "yes"}).status_code == 302
        assert not Manager.objects.filter(pk=regional.pk).exists()
        assert not ManagerStore.objects.filter(manager_id=regional.pk).exists()
