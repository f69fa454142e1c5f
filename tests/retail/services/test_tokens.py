"""One rule for "is this token usable": the object, the queryset and the login SQL agree."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from retail.models import AccessToken, Manager, ManagerKind
from retail.services.tokens import (
    TokenStatus,
    token_authenticate,
    token_issue,
    token_status,
    tokens_with_status,
)

PAST = timedelta(days=-1)
FUTURE = timedelta(days=1)

#: name -> (manager active?, expires in, revoked?, the status the rule gives)
CASES = {
    "plain": (True, None, False, TokenStatus.ACTIVE),
    "expires later": (True, FUTURE, False, TokenStatus.ACTIVE),
    "expired": (True, PAST, False, TokenStatus.EXPIRED),
    "revoked": (True, None, True, TokenStatus.REVOKED),
    "revoked and expired": (True, PAST, True, TokenStatus.REVOKED),
    "manager inactive": (False, None, False, TokenStatus.MANAGER_INACTIVE),
    "manager inactive, expires later": (False, FUTURE, False, TokenStatus.MANAGER_INACTIVE),
    "manager inactive and expired": (False, PAST, False, TokenStatus.EXPIRED),
    "manager inactive and revoked": (False, None, True, TokenStatus.REVOKED),
}


@pytest.fixture
def tokens(database) -> Iterator[dict[str, tuple[AccessToken, str]]]:
    """One token per case, each of its own manager: name -> (token, raw token)."""
    now = timezone.now()
    made: dict[str, tuple[AccessToken, str]] = {}
    managers: list[Manager] = []
    for name, (active, expires_in, revoked, _) in CASES.items():
        manager = Manager.objects.create(
            name=f"Token rule {name}",
            email=f"token-rule-{uuid.uuid4().hex[:8]}@zava.example",
            kind=ManagerKind.HEAD_OFFICE,
        )
        managers.append(manager)
        issued = token_issue(manager=manager, name=name)
        AccessToken.objects.filter(pk=issued.token.pk).update(
            expires_at=now + expires_in if expires_in else None,
            revoked_at=now if revoked else None,
        )
        Manager.objects.filter(pk=manager.pk).update(is_active=active)
        made[name] = (
            AccessToken.objects.select_related("manager").get(pk=issued.token.pk),
            issued.raw,
        )
    yield made
    for manager in managers:
        manager.delete()  # and its tokens


def test_status_of_each_token_follows_the_rule(tokens):
    assert {name: token_status(token) for name, (token, _) in tokens.items()} == {
        name: case[3] for name, case in CASES.items()
    }


def test_queryset_for_each_status_holds_exactly_the_tokens_with_that_status(tokens):
    ours = AccessToken.objects.filter(pk__in=[token.pk for token, _ in tokens.values()])
    for status in TokenStatus:
        found = set(tokens_with_status(ours, status).values_list("name", flat=True))
        assert found == {name for name, case in CASES.items() if case[3] == status}, status


def test_only_active_tokens_authenticate(tokens):
    for name, (token, raw) in tokens.items():
        credential = token_authenticate(raw)
        assert (credential is not None) == (token_status(token) == TokenStatus.ACTIVE), name
