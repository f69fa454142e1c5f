"""Access tokens in the admin: issued from a manager's page, shown once, revoked, unprobeable."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.urls import reverse

from infrastructure.credentials import is_token_shaped
from retail.models import AccessToken, Manager
from retail.services.tokens import token_authenticate, token_digest, token_issue
from tests.identities import SEATTLE

ADD_URL = reverse("admin:retail_accesstoken_add")
RAW_TOKEN = re.compile(r"zava_[A-Za-z0-9_-]{43}")
NAME = "admin-test-token"


@pytest.fixture
def seattle(database) -> Iterator[Manager]:
    yield Manager.objects.get(email=SEATTLE.email)
    AccessToken.objects.filter(name=NAME).delete()


def issue(client, manager: Manager, **fields: str):
    return client.post(ADD_URL, {"manager": str(manager.pk), "name": NAME, **fields})


def token_url(token: AccessToken) -> str:
    return reverse("admin:retail_accesstoken_change", args=[token.pk])


def test_the_managers_page_links_to_issuing_a_token_for_that_manager(admin_client, seattle):
    page = admin_client.get(reverse("admin:retail_manager_change", args=[seattle.pk]))
    assert f"{ADD_URL}?manager={seattle.pk}" in page.content.decode()
    form = admin_client.get(ADD_URL, {"manager": str(seattle.pk)}).context["form"]
    assert str(form["manager"].value()) == str(seattle.pk)


def test_an_issued_token_is_shown_exactly_once_then_only_its_prefix(admin_client, seattle):
    response = issue(admin_client, seattle, expires_days="30")
    token = AccessToken.objects.get(name=NAME)
    assert response.status_code == 302
    assert response["Location"] == token_url(token)

    first = admin_client.get(token_url(token)).content.decode()
    shown = RAW_TOKEN.findall(first)
    assert len(set(shown)) == 1
    raw = shown[0]
    assert is_token_shaped(raw)
    assert token.digest == token_digest(raw)  # only the digest is stored
    assert token_authenticate(raw).manager_id == seattle.pk
    assert token.expires_at is not None

    again = admin_client.get(token_url(token)).content.decode()
    assert raw not in again
    assert RAW_TOKEN.search(again) is None
    assert f"{token.prefix}…" in again
    assert LogEntry.objects.filter(object_id=str(token.pk), action_flag=ADDITION).exists()


def test_an_unread_token_is_dropped_when_another_token_page_is_opened(admin_client, seattle):
    issue(admin_client, seattle)
    token = AccessToken.objects.get(name=NAME)
    other = token_issue(manager=seattle, name=NAME).token
    assert RAW_TOKEN.search(admin_client.get(token_url(other)).content.decode()) is None
    assert RAW_TOKEN.search(admin_client.get(token_url(token)).content.decode()) is None


def test_a_token_is_not_issued_for_an_invalid_expiry(admin_client, seattle):
    response = issue(admin_client, seattle, expires_days="0")
    assert response.status_code == 200
    assert response.context["form"].errors["expires_days"]
    assert not AccessToken.objects.filter(name=NAME).exists()


def test_the_revoke_button_revokes_and_the_admin_log_records_it(admin_client, seattle):
    issued = token_issue(manager=seattle, name=NAME)
    page = admin_client.get(token_url(issued.token)).content.decode()
    assert "Revoke this token" in page

    response = admin_client.post(reverse("admin:retail_accesstoken_revoke", args=[issued.token.pk]))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert token_authenticate(issued.raw) is None
    entry = LogEntry.objects.get(object_id=str(issued.token.pk), action_flag=CHANGE)
    assert entry.get_change_message() == "Revoked."
    assert "Revoke this token" not in admin_client.get(token_url(issued.token)).content.decode()


def test_revoking_needs_a_post(admin_client, seattle):
    issued = token_issue(manager=seattle, name=NAME)
    url = reverse("admin:retail_accesstoken_revoke", args=[issued.token.pk])
    assert admin_client.get(url).status_code == 405
    assert token_authenticate(issued.raw) is not None


def test_the_revoke_action_revokes_the_selected_tokens(admin_client, seattle):
    first = token_issue(manager=seattle, name=NAME)
    second = token_issue(manager=seattle, name=NAME)
    admin_client.post(
        reverse("admin:retail_accesstoken_changelist"),
        {"action": "revoke_selected", ACTION_CHECKBOX_NAME: [first.token.pk]},
    )
    assert token_authenticate(first.raw) is None
    assert token_authenticate(second.raw) is not None


def test_tokens_cannot_be_deleted_only_revoked(admin_client, seattle):
    issued = token_issue(manager=seattle, name=NAME)
    url = reverse("admin:retail_accesstoken_delete", args=[issued.token.pk])
    assert admin_client.get(url).status_code == 403


@pytest.mark.parametrize(
    ("url_name", "lookup"),
    [
        ("admin:retail_accesstoken_changelist", "digest"),
        ("admin:retail_accesstoken_changelist", "digest__startswith"),
        ("admin:retail_manager_changelist", "access_tokens__digest__startswith"),
        ("admin:retail_auditedrequest_changelist", "token__digest__startswith"),
    ],
)
def test_digests_cannot_be_probed_through_url_filters(admin_client, seattle, url_name, lookup):
    response = admin_client.get(reverse(url_name), {lookup: "a"})
    assert response.status_code == 400


def test_the_token_list_never_shows_a_digest(admin_client, seattle):
    issued = token_issue(manager=seattle, name=NAME)
    page = admin_client.get(reverse("admin:retail_accesstoken_changelist")).content.decode()
    assert issued.token.prefix in page
    assert issued.token.digest not in page
    assert issued.token.digest not in admin_client.get(token_url(issued.token)).content.decode()


def test_a_token_of_an_inactive_manager_is_not_listed_as_active(admin_client, seattle):
    issued = token_issue(manager=seattle, name=NAME)
    Manager.objects.filter(pk=seattle.pk).update(is_active=False)
    try:
        listed = {
            status: set(
                admin_client.get(reverse("admin:retail_accesstoken_changelist"), {"status": status})
                .context["cl"]
                .result_list.values_list("pk", flat=True)
            )
            for status in ("active", "manager_inactive")
        }
        page = admin_client.get(token_url(issued.token)).content.decode()
        assert token_authenticate(issued.raw) is None
    finally:
        Manager.objects.filter(pk=seattle.pk).update(is_active=True)
    assert issued.token.pk not in listed["active"]
    assert issued.token.pk in listed["manager_inactive"]
    assert "manager inactive" in page
