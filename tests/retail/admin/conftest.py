"""Admin accounts and logged-in clients on the committed test database.

Every account is created for one test and deleted after it, with its sessions and
admin-log rows, so the shared database ends as it began.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.forms import CheckboxInput
from django.test import Client

HEAD_OFFICE_GROUP = "Head office"


@pytest.fixture
def make_user(database) -> Iterator[Callable[..., User]]:
    created: list[User] = []

    def make(*, superuser: bool = False, group: str | None = None, staff: bool = True) -> User:
        user = User.objects.create_user(
            f"admin-test-{secrets.token_hex(4)}",
            password=secrets.token_urlsafe(16),
            is_staff=staff,
            is_superuser=superuser,
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        created.append(user)
        return user

    yield make
    for user in created:
        user.delete()  # its admin-log rows go with it


def _client(user: User) -> Iterator[Client]:
    client = Client()
    client.force_login(user)
    yield client
    client.logout()  # deletes the session row


@pytest.fixture
def admin_client(make_user) -> Iterator[Client]:
    """A superuser's client."""
    yield from _client(make_user(superuser=True))


@pytest.fixture
def head_office_client(make_user) -> Iterator[Client]:
    """A staff member of the "Head office" group, not a superuser."""
    yield from _client(make_user(group=HEAD_OFFICE_GROUP))


@pytest.fixture
def staff_client(make_user) -> Iterator[Client]:
    """A staff member with no group and no permission of its own."""
    yield from _client(make_user())


def form_data(response: Any) -> dict[str, str]:
    """What a browser would post back for an admin change form, as rendered.

    Covers the main form, every inline's management form and rows (the blank extra
    rows included), so a test only changes the fields it cares about.
    """
    data: dict[str, str] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms.append(inline.formset.management_form)
        forms.extend(inline.formset.forms)
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(bound.field.widget, CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = str(value)
    return data


def errors_of(response: Any) -> str:
    """Every error message on an admin form page, joined for assertions."""
    messages = list(response.context["adminform"].form.non_field_errors())
    for field_errors in response.context["adminform"].form.errors.values():
        messages.extend(field_errors)
    for inline in response.context["inline_admin_formsets"]:
        messages.extend(inline.formset.non_form_errors())
        for form_errors in inline.formset.errors:
            for field_errors in form_errors.values():
                messages.extend(field_errors)
    return " ".join(str(m) for m in messages)
