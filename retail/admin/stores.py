"""Stores: list, search, online/physical filter, their managers inline, delete protection."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from retail.admin.base import ZavaModelAdmin, ZavaTabularInline, kept_values
from retail.models import Manager, ManagerStore, Store
from retail.services.managers import MappingRuleBroken, mapping_rule_check, store_managers_set
from retail.services.stores import store_delete, store_delete_blockers


class StoreKindFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("online", "Online"), ("physical", "Physical")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "online":
            return queryset.filter(is_online=True)
        if self.value() == "physical":
            return queryset.filter(is_online=False)
        return queryset


class StoreManagersFormSet(BaseInlineFormSet):
    """Checks every manager whose mappings this page changes, through the service's rule."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        store = self.instance
        wanted = {manager.pk for manager in kept_values(self, "manager")}
        current = (
            set(store.manager_mappings.values_list("manager_id", flat=True)) if store.pk else set()
        )
        problems = []
        for manager in Manager.objects.filter(pk__in=wanted ^ current).order_by("name"):
            count = manager.store_mappings.exclude(store_id=store.pk).count()
            count += manager.pk in wanted
            try:
                mapping_rule_check(name=manager.name, kind=manager.kind, store_count=count)
            except MappingRuleBroken as exc:
                problems.append(exc.message)
        if problems:
            raise ValidationError(problems)


class StoreManagersInline(ZavaTabularInline):
    model = ManagerStore
    formset = StoreManagersFormSet
    fields = ["manager"]
    extra = 0
    verbose_name = "manager of this store"
    verbose_name_plural = "managers of this store"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("manager", "store")


class StoreForm(forms.ModelForm):
    class Meta:
        model = Store
        fields = ["store_name", "is_online", "rls_user_id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "rls_user_id" in self.fields and self.instance.pk is None:
            self.fields["rls_user_id"].initial = uuid.uuid4


@admin.register(Store)
class StoreAdmin(ZavaModelAdmin):
    form = StoreForm
    list_display = ["store_name", "kind", "managers_list"]
    list_filter = [StoreKindFilter]
    search_fields = ["store_name"]
    inlines = [StoreManagersInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Store | None = None) -> list[str]:
        # The reference's identity of an existing store is history, not a setting.
        return ["store_id", "rls_user_id"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Store | None = None) -> list[str]:
        fields = ["store_name", "is_online", "rls_user_id"]
        return ["store_id", *fields] if obj is not None else fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        mappings = ManagerStore.objects.select_related("manager").order_by("manager__name")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("manager_mappings", queryset=mappings))
        )

    @admin.display(description="kind", ordering="is_online")
    def kind(self, obj: Store) -> str:
        return "Online" if obj.is_online else "Physical"

    @admin.display(description="managers")
    def managers_list(self, obj: Store) -> str:
        return ", ".join(m.manager.name for m in obj.manager_mappings.all()) or "—"

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not ManagerStore:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)  # fills new/changed/deleted objects for the admin log
        store_managers_set(
            store=form.instance, manager_ids={m.pk for m in kept_values(formset, "manager")}
        )

    # --- deletion: refused, with counts, while the store has orders, stock or customers

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        protected = []
        for store in objs:
            blockers = store_delete_blockers(store=store)
            if blockers:
                protected.append(
                    f"{store.store_name} cannot be deleted: it has {', '.join(blockers)}."
                )
        if protected:
            return [], {}, set(), protected
        return super().get_deleted_objects(objs, request)

    def delete_model(self, request: HttpRequest, obj: Store) -> None:
        store_delete(store=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for store in queryset:
            store_delete(store=store)
