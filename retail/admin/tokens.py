"""Access tokens: issue (the raw token is shown exactly once), revoke, expiry, last use.

Issuing and revoking go through ``retail.services.tokens``, as the commands do.
After issuing, the raw token waits in the session for one page view (the redirect
to the token's page, which removes it; so does opening any other token's page, and
logging out); from then on only its prefix exists outside the client. Tokens are
never deleted here: revoking keeps the audit's link from each call to its token.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_POST

from retail.admin.base import ZavaModelAdmin
from retail.errors import InvalidInput
from retail.models import AccessToken, Manager
from retail.services.tokens import (
    TokenStatus,
    token_issue,
    token_revoke,
    token_status,
    tokens_with_status,
)

# One slot: the token just issued, until the next token page is opened.
ISSUED_SESSION_KEY = "zava_issued_token"


class TokenIssueForm(forms.Form):
    manager = forms.ModelChoiceField(
        queryset=Manager.objects.filter(is_active=True).order_by("name")
    )
    name = forms.CharField(
        max_length=100, initial="default", help_text="What the token is for, e.g. 'VS Code'."
    )
    expires_days = forms.IntegerField(
        min_value=1,
        required=False,
        label="Expires after (days)",
        help_text="Leave empty for a token that never expires.",
    )


class TokenStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(status.value, status.label.capitalize()) for status in TokenStatus]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value not in TokenStatus.values:
            return queryset
        return tokens_with_status(queryset, TokenStatus(value))


@admin.register(AccessToken)
class AccessTokenAdmin(ZavaModelAdmin):
    list_display = [
        "prefix_display",
        "name",
        "manager",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = [TokenStatusFilter, "manager"]
    list_select_related = ["manager"]
    search_fields = ["prefix", "name", "manager__name", "manager__email"]
    fields = [
        "prefix_display",
        "manager",
        "name",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    # The label alone may change.
    readonly_fields = [f for f in fields if isinstance(f, str) and f != "name"]
    actions = ["revoke_selected"]

    @admin.display(description="token", ordering="prefix")
    def prefix_display(self, token: AccessToken) -> str:
        return f"{token.prefix}…"

    @admin.display(description="status")
    def status(self, token: AccessToken) -> str:
        return token_status(token).label

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        revoke = path(
            "<path:object_id>/revoke/",
            self.admin_site.admin_view(self.revoke_view),
            name="retail_accesstoken_revoke",
        )
        return [revoke, *super().get_urls()]

    # --- issuing

    @sensitive_variables("issued")
    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = TokenIssueForm(
            request.POST if request.method == "POST" else None,
            initial={"manager": request.GET.get("manager")},
        )
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    issued = token_issue(
                        manager=form.cleaned_data["manager"],
                        name=form.cleaned_data["name"],
                        expires_days=form.cleaned_data["expires_days"],
                    )
                    self.log_addition(request, issued.token, [{"added": {}}])
            except InvalidInput as exc:
                form.add_error(None, exc.message)
            else:
                request.session[ISSUED_SESSION_KEY] = {"pk": issued.token.pk, "raw": issued.raw}
                return HttpResponseRedirect(
                    reverse("admin:retail_accesstoken_change", args=[issued.token.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Issue an access token",
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/retail/accesstoken/issue.html", context)

    @sensitive_variables("raw")
    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        extra_context = {"show_save_and_add_another": False, **(extra_context or {})}
        if request.method == "GET":
            # Shown on this one response only: the next token page a user opens takes
            # the raw token out of the session, whichever token that page is about.
            raw = request.session.pop(ISSUED_SESSION_KEY, None)
            if raw and str(raw["pk"]) == str(object_id):
                extra_context["issued_raw_token"] = raw["raw"]
        token = self.get_object(request, object_id)
        extra_context["can_revoke"] = (
            token is not None
            and token.revoked_at is None
            and self.has_change_permission(request, token)
        )
        return super().change_view(request, object_id, form_url, extra_context)

    # --- revoking

    def revoke_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._revoke)(request, object_id)

    def _revoke(self, request: HttpRequest, object_id: str) -> HttpResponse:
        token = get_object_or_404(AccessToken, pk=object_id)
        if not self.has_change_permission(request, token):
            raise PermissionDenied
        self._revoke_tokens(request, [token])
        return HttpResponseRedirect(reverse("admin:retail_accesstoken_change", args=[token.pk]))

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._revoke_tokens(request, list(queryset))

    def _revoke_tokens(self, request: HttpRequest, tokens: list[AccessToken]) -> None:
        tokens = [t for t in tokens if t.revoked_at is None]
        with transaction.atomic():
            for token in tokens:
                token_revoke(token=token)
                self.log_change(request, token, "Revoked.")
        if tokens:
            names = ", ".join(f"{t.prefix}…" for t in tokens)
            self.message_user(
                request, f"Revoked {names}; the next call with it gets 401.", messages.SUCCESS
            )
        else:
            self.message_user(request, "Nothing to revoke.", messages.WARNING)
