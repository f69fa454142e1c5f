"""Who may do what: superusers and "Head office" manage; other staff only look."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from retail.models import AccessToken, AuditedRequest, Manager, Product, Store
from retail.services.tokens import token_issue
from tests.identities import SEATTLE
from tests.retail.admin.conftest import HEAD_OFFICE_GROUP, form_data

CHANGELISTS = [
    "admin:retail_store_changelist",
    "admin:retail_manager_changelist",
    "admin:retail_accesstoken_changelist",
    "admin:retail_auditedrequest_changelist",
    "admin:retail_product_changelist",
    "admin:retail_category_changelist",
    "admin:retail_producttype_changelist",
    "admin:dashboard",
]


@pytest.fixture
def seattle_token(database) -> Iterator[AccessToken]:
    issued = token_issue(manager=Manager.objects.get(email=SEATTLE.email), name="permissions-test")
    yield issued.token
    issued.token.delete()


def seattle_store() -> Store:
    return Store.objects.get(store_name="Zava Retail Seattle")


class TestReadOnlyStaff:
    @pytest.mark.parametrize("url_name", CHANGELISTS)
    def test_can_view_every_list(self, staff_client, url_name):
        assert staff_client.get(reverse(url_name)).status_code == 200

    def test_sees_the_retail_models_on_the_index(self, staff_client):
        page = staff_client.get(reverse("admin:index")).content.decode()
        for name in ("Stores", "Managers", "Access tokens", "Audited requests", "Products"):
            assert name in page

    def test_can_view_a_store_and_a_manager_but_gets_no_save_button(self, staff_client):
        store = staff_client.get(reverse("admin:retail_store_change", args=[seattle_store().pk]))
        manager_url = reverse(
            "admin:retail_manager_change", args=[Manager.objects.get(email=SEATTLE.email).pk]
        )
        manager = staff_client.get(manager_url)
        for response in (store, manager):
            assert response.status_code == 200
            assert 'name="_save"' not in response.content.decode()
        assert "Issue a token" not in manager.content.decode()

    def test_cannot_change_a_store(self, staff_client):
        store = seattle_store()
        url = reverse("admin:retail_store_change", args=[store.pk])
        response = staff_client.post(url, {"store_name": "Renamed", "is_online": "on"})
        assert response.status_code == 403
        store.refresh_from_db()
        assert store.store_name == "Zava Retail Seattle"

    @pytest.mark.parametrize(
        "url_name",
        [
            "admin:retail_store_add",
            "admin:retail_manager_add",
            "admin:retail_accesstoken_add",
            "admin:retail_product_add",
        ],
    )
    def test_cannot_open_an_add_page(self, staff_client, url_name):
        assert staff_client.get(reverse(url_name)).status_code == 403

    def test_cannot_issue_or_revoke_tokens(self, staff_client, seattle_token):
        manager = Manager.objects.get(email=SEATTLE.email)
        before = AccessToken.objects.count()
        issue = staff_client.post(
            reverse("admin:retail_accesstoken_add"), {"manager": str(manager.pk), "name": "x"}
        )
        assert issue.status_code == 403
        assert AccessToken.objects.count() == before

        revoke = reverse("admin:retail_accesstoken_revoke", args=[seattle_token.pk])
        assert staff_client.post(revoke).status_code == 403
        seattle_token.refresh_from_db()
        assert seattle_token.revoked_at is None
        page = staff_client.get(
            reverse("admin:retail_accesstoken_change", args=[seattle_token.pk])
        ).content.decode()
        assert "Revoke this token" not in page

    def test_gets_no_actions_that_change_anything(self, staff_client):
        products = staff_client.get(reverse("admin:retail_product_changelist"))
        assert "re_embed" not in products.content.decode()
        stores = staff_client.get(reverse("admin:retail_store_changelist"))
        assert "delete_selected" not in stores.content.decode()

    def test_cannot_delete_a_product(self, staff_client):
        product = Product.objects.order_by("product_id").first()
        url = reverse("admin:retail_product_delete", args=[product.pk])
        assert staff_client.post(url, {"post": "yes"}).status_code == 403

    def test_non_staff_are_sent_to_the_login_page(self, make_user):
        from django.test import Client

        client = Client()
        client.force_login(make_user(staff=False))
        response = client.get(reverse("admin:retail_store_changelist"))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]
        client.logout()


class TestHeadOfficeGroup:
    def test_the_migration_gives_the_group_full_rights_but_a_read_only_audit(self, database):
        codenames = set(
            Group.objects.get(name=HEAD_OFFICE_GROUP).permissions.values_list("codename", flat=True)
        )
        for model in ("store", "manager", "managerstore", "accesstoken", "product", "category"):
            assert {f"add_{model}", f"change_{model}", f"delete_{model}"} <= codenames
        assert "view_auditedrequest" in codenames
        assert (
            not {"add_auditedrequest", "change_auditedrequest", "delete_auditedrequest"} & codenames
        )
        assert not {"add_user", "change_user"} & codenames  # admin accounts: superusers only

    def test_can_change_a_store(self, head_office_client):
        store = seattle_store()
        url = reverse("admin:retail_store_change", args=[store.pk])
        data = form_data(head_office_client.get(url))
        data["store_name"] = "Zava Retail Seattle (renamed)"
        try:
            assert head_office_client.post(url, data).status_code == 302
            store.refresh_from_db()
            assert store.store_name == "Zava Retail Seattle (renamed)"
        finally:
            Store.objects.filter(pk=store.pk).update(store_name="Zava Retail Seattle")

    def test_can_issue_and_revoke_a_token(self, head_office_client, database):
        manager = Manager.objects.get(email=SEATTLE.email)
        response = head_office_client.post(
            reverse("admin:retail_accesstoken_add"),
            {"manager": str(manager.pk), "name": "head-office-test"},
        )
        token = AccessToken.objects.get(name="head-office-test")
        try:
            assert response.status_code == 302
            revoke = reverse("admin:retail_accesstoken_revoke", args=[token.pk])
            assert head_office_client.post(revoke).status_code == 302
            token.refresh_from_db()
            assert token.revoked_at is not None
        finally:
            token.delete()

    def test_cannot_change_the_audit(self, head_office_client, database):
        call = AuditedRequest.objects.first()
        assert head_office_client.get(reverse("admin:retail_auditedrequest_add")).status_code == 403
        if call is not None:
            url = reverse("admin:retail_auditedrequest_change", args=[call.pk])
            assert head_office_client.post(url, {}).status_code == 403

    def test_cannot_manage_admin_accounts(self, head_office_client):
        assert head_office_client.get(reverse("admin:auth_user_changelist")).status_code == 403
