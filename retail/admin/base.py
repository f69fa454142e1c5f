"""What every Zava model admin shares: who may do what, and no probing of secrets.

Superusers and the "Head office" group (migration 0005) hold the add, change and
delete permissions. Every other active staff member may look at everything here
but change nothing: viewing is granted by staff status alone, so a new staff
account is useful read-only without further setup.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest


def is_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff)


class StaffMayView:
    """Any active staff member may view; the model permissions decide the rest."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_staff(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request) or super().has_module_permission(request)


class NoSecretLookups:
    """Refuse URL filters on token digests, so nobody can probe them from the changelist."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if "digest" in lookup.split("__"):
            return False
        return super().lookup_allowed(lookup, value, request)


class ZavaModelAdmin(StaffMayView, NoSecretLookups, admin.ModelAdmin):
    """Base of the project's model admins."""

    show_full_result_count = False  # one COUNT(*) per changelist page is enough


class ZavaTabularInline(StaffMayView, admin.TabularInline):
    """Base of the project's inlines."""


def kept_values(formset: BaseInlineFormSet, field: str) -> set[Any]:
    """The values of ``field`` over the rows a valid formset keeps (deleted rows left out).

    Rows shown read-only have no cleaned value; their instance's value counts.
    """
    values = set()
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if data is None or (formset.can_delete and data.get(DELETION_FIELD_NAME)):
            continue
        value = data.get(field)
        if value is None and form.instance.pk is not None:
            value = getattr(form.instance, field, None)
        if value is not None:
            values.add(value)
    return values
