"""Managers with their store mappings and tokens inline.

The manager and its mappings are written together by ``manager_save``, which
checks the rule of the manager's kind on the result: the admin's own validation
calls the same rule first, so a broken rule shows as a message on the form.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from retail.admin.base import ZavaModelAdmin, ZavaTabularInline, kept_values
from retail.errors import InvalidInput
from retail.models import AccessToken, Manager, ManagerStore
from retail.services.managers import MappingRuleBroken, manager_save, mapping_rule_check
from retail.services.oauth_access import connected_clients, sign_ins_revoke
from retail.services.sign_in_invites import sign_in_invite
from retail.services.tokens import token_status


class ManagerStoresFormSet(BaseInlineFormSet):
    """Checks the mappings against the kind chosen on the same page."""

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        manager = self.instance  # already carries the kind posted with this form
        if not manager.kind:
            return  # the form itself reports the missing kind
        try:
            mapping_rule_check(
                name=manager.name, kind=manager.kind, store_count=len(kept_values(self, "store"))
            )
        except MappingRuleBroken as exc:
            raise ValidationError(exc.message, code=exc.reason) from exc


class ManagerStoresInline(ZavaTabularInline):
    model = ManagerStore
    formset = ManagerStoresFormSet
    fields = ["store"]
    extra = 1
    verbose_name = "store mapping"
    verbose_name_plural = (
        "store mappings (store manager: exactly one; regional: at least one; head office: none)"
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("store", "manager")


class AccessTokensInline(ZavaTabularInline):
    """The manager's tokens, read-only; issue and revoke from the token pages."""

    model = AccessToken
    fields = ["prefix_link", "name", "status", "created_at", "expires_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = "access tokens"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("manager")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="token")
    def prefix_link(self, token: AccessToken) -> str:
        url = reverse("admin:retail_accesstoken_change", args=[token.pk])
        return format_html('<a href="{}"><code>{}…</code></a>', url, token.prefix)

    @admin.display(description="status")
    def status(self, token: AccessToken) -> str:
        return token_status(token).label


@admin.register(Manager)
class ManagerAdmin(ZavaModelAdmin):
    list_display = ["name", "email", "kind", "stores_list", "is_active", "tokens"]
    list_filter = ["kind", "is_active", "stores"]
    search_fields = ["name", "email", "=id"]
    inlines = [ManagerStoresInline, AccessTokensInline]
    raw_id_fields = ["user"]  # the sign-in account (OAuth from MCP clients)
    actions = ["invite_to_sign_in", "revoke_sign_ins"]
    save_as = False

    def get_fields(self, request: HttpRequest, obj: Manager | None = None) -> list[str]:
        fields = ["name", "email", "kind", "is_active", "user"]
        extra = ["id", "created_at", "updated_at", "signed_in_clients"]
        return [*fields, *extra] if obj is not None else fields

    def get_readonly_fields(self, request: HttpRequest, obj: Manager | None = None) -> list[str]:
        return ["id", "created_at", "updated_at", "signed_in_clients"] if obj is not None else []

    @admin.display(description="clients connected by sign-in")
    def signed_in_clients(self, obj: Manager) -> str:
        clients = connected_clients(obj)
        if not clients:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    c.name,
                    c.scope,
                    f"{c.last_used:%Y-%m-%d %H:%M} UTC",
                    f"{c.expires:%Y-%m-%d %H:%M} UTC",
                )
                for c in clients
            ),
        )
        return format_html(
            '<table id="signed-in-clients"><tr><th>client</th><th>scope</th>'
            "<th>last used</th><th>expires</th></tr>{}</table>",
            rows,
        )

    @admin.action(
        description="Invite selected managers to sign in (email a link to set a password)",
        permissions=["change"],
    )
    def invite_to_sign_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        site_url = settings.ZAVA_PUBLIC_URL or request.build_absolute_uri("/")
        invited = []
        for manager in queryset:
            try:
                sign_in_invite(manager, site_url=site_url)
            except InvalidInput as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                invited.append(manager.email)
        if invited:
            self.message_user(request, f"Invitation sent to {', '.join(invited)}.")

    @admin.action(
        description="Revoke sign-in tokens (OAuth) of selected managers", permissions=["change"]
    )
    def revoke_sign_ins(self, request: HttpRequest, queryset: QuerySet) -> None:
        revoked = sum(sign_ins_revoke(manager) for manager in queryset)
        self.message_user(request, f"Revoked {revoked} sign-in access token(s).")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        mappings = ManagerStore.objects.select_related("store").order_by("store__store_name")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("store_mappings", queryset=mappings))
            .annotate(token_count=Count("access_tokens", distinct=True))
        )

    @admin.display(description="stores")
    def stores_list(self, obj: Manager) -> str:
        if obj.kind == "head_office":
            return "every store"
        return ", ".join(m.store.store_name for m in obj.store_mappings.all()) or "—"

    @admin.display(description="tokens", ordering="token_count")
    def tokens(self, obj: Manager) -> int:
        return obj.token_count

    # --- saving: the manager and its mappings in one service call

    def save_model(self, request: HttpRequest, obj: Manager, form: Any, change: bool) -> None:
        """Deferred to save_related, which saves it with its mappings through manager_save."""

    def save_related(self, request: HttpRequest, form: Any, formsets: list, change: bool) -> None:
        manager = form.instance
        mappings = next((fs for fs in formsets if fs.model is ManagerStore), None)
        if mappings is None:  # no mapping inline on this page: keep the mappings as they are
            store_ids = set(manager.store_mappings.values_list("store_id", flat=True))
        else:
            mappings.save(commit=False)  # fills new/changed/deleted objects for the admin log
            store_ids = {store.pk for store in kept_values(mappings, "store")}
        manager_save(manager=manager, store_ids=store_ids)
        for formset in formsets:
            if formset is not mappings:
                self.save_formset(request, form, formset, change)

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except InvalidInput as exc:
            # Only when another writer changed the mappings between validation and save.
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())
