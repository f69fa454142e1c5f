"""Head office invites managers to sign in: an account, and an emailed one-time link."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from retail.models import Manager
from tests.identities import BELLEVUE, PUGET_SOUND

CHANGELIST = "/admin/retail/manager/"
PASSWORD = "a-long-Passphrase-4-bellevue"


@pytest.fixture
def bellevue(database) -> Iterator[Manager]:
    """Bellevue's manager with no sign-in account; whatever the test made is removed after."""
    manager = Manager.objects.get(email=BELLEVUE.email)
    assert manager.user_id is None
    yield manager
    Manager.objects.filter(pk=manager.pk).update(user=None, is_active=True)
    User.objects.filter(username=BELLEVUE.email).delete()


def _invite(admin_client: Client, *managers: Manager) -> str:
    response = admin_client.post(
        CHANGELIST,
        {"action": "invite_to_sign_in", "_selected_action": [m.pk for m in managers]},
        follow=True,
    )
    assert response.status_code == 200
    return response.content.decode()


def _link_path(body: str) -> str:
    (link,) = re.findall(r"https?://\S+/o/invite/\S+/", body)
    return urlsplit(link).path


def test_an_invited_manager_sets_a_password_once_and_can_sign_in(
    admin_client, bellevue, mailoutbox
):
    page = _invite(admin_client, bellevue)

    assert f"Invitation sent to {BELLEVUE.email}" in page
    (message,) = mailoutbox
    assert message.to == [BELLEVUE.email]
    assert "/o/invite/" in message.body and "/mcp" in message.body
    bellevue.refresh_from_db()
    assert bellevue.user is not None and not bellevue.user.has_usable_password()

    invitee = Client()
    form = invitee.get(_link_path(message.body), follow=True)
    assert 'name="new_password1"' in form.content.decode()
    done = invitee.post(
        form.redirect_chain[-1][0],
        {"new_password1": PASSWORD, "new_password2": PASSWORD},
        follow=True,
    )
    assert done.redirect_chain[-1][0].endswith("/o/invite/done/")
    assert Client().login(username=BELLEVUE.email, password=PASSWORD)
    # The link is single-use: once the password is set it shows no form.
    again = Client().get(_link_path(message.body), follow=True)
    assert 'name="new_password1"' not in again.content.decode()


def test_a_second_invitation_reuses_the_account(admin_client, bellevue, mailoutbox):
    _invite(admin_client, bellevue)
    _invite(admin_client, bellevue)

    assert len(mailoutbox) == 2
    assert User.objects.filter(username=BELLEVUE.email).count() == 1
    bellevue.refresh_from_db()
    assert bellevue.user is not None and bellevue.user.username == BELLEVUE.email


def test_inactive_managers_and_taken_accounts_get_no_invitation(admin_client, bellevue, mailoutbox):
    Manager.objects.filter(pk=bellevue.pk).update(is_active=False)
    page = _invite(admin_client, bellevue)
    assert "is inactive" in page and not mailoutbox

    Manager.objects.filter(pk=bellevue.pk).update(is_active=True)
    _invite(admin_client, bellevue)  # Bellevue's account now exists and is linked
    puget = Manager.objects.get(email=PUGET_SOUND.email)
    taken = User.objects.get(username=BELLEVUE.email)
    Manager.objects.filter(pk=bellevue.pk).update(user=None)
    Manager.objects.filter(pk=puget.pk).update(user=taken)
    try:
        page = _invite(admin_client, Manager.objects.get(pk=bellevue.pk))
        assert "already belongs to another manager" in page
        assert len(mailoutbox) == 1
    finally:
        Manager.objects.filter(pk=puget.pk).update(user=None)
