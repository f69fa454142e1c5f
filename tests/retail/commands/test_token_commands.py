"""issue_token and revoke_token, as an operator uses them."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from infrastructure.credentials import is_token_shaped
from retail.models import AccessToken
from retail.services.tokens import token_authenticate
from tests.identities import PUGET_SOUND, SEATTLE

SEATTLE_ID = str(SEATTLE.id)


def _issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[-1]


def test_issue_token_prints_the_token_alone_on_the_last_line_and_stores_only_a_digest(database):
    raw = _issue(SEATTLE_ID, "--name", "laptop", "--expires-days", "7")
    assert is_token_shaped(raw)
    token = AccessToken.objects.get(prefix=raw[:12])
    assert token.name == "laptop"
    assert raw not in (token.digest, token.prefix)
    assert token.expires_at is not None
    assert token_authenticate(raw).manager_id.hex == SEATTLE_ID.replace("-", "")


def test_issue_token_accepts_an_email(database):
    raw = _issue(PUGET_SOUND.email.upper())  # emails match case-blind
    assert token_authenticate(raw).manager_email == PUGET_SOUND.email


@pytest.mark.parametrize("args", [["nobody@zava.example"], [SEATTLE_ID, "--expires-days", "0"]])
def test_issue_token_refuses_bad_input_clearly(database, args):
    with pytest.raises(CommandError):
        call_command("issue_token", *args, stdout=StringIO(), stderr=StringIO())


def test_revoke_token_by_prefix_and_by_manager(database):
    # Later tests use the session's Seattle token (tests/conftest.py `tokens`).
    held = AccessToken.objects.filter(manager_id=SEATTLE_ID, revoked_at__isnull=True)
    held = list(held.values_list("pk", flat=True))
    first = _issue(SEATTLE_ID, "--name", "one")
    second = _issue(SEATTLE_ID, "--name", "two")
    call_command("revoke_token", first[:12], stdout=StringIO())
    assert token_authenticate(first) is None
    assert token_authenticate(second) is not None
    try:
        call_command("revoke_token", "--manager", SEATTLE_ID, stdout=StringIO())
        assert token_authenticate(second) is None
    finally:
        AccessToken.objects.filter(pk__in=held).update(revoked_at=None)


def test_revoke_token_needs_exactly_one_target(database):
    with pytest.raises(CommandError):
        call_command("revoke_token", stdout=StringIO())
