"""The audit of requests, read-only for everyone: who, when, which tool, what came of it."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from retail.admin.base import ZavaModelAdmin
from retail.admin.estimated_count import EstimatedCountAdminMixin
from retail.models import AuditedRequest, ManagerKind, Store
from retail.services.audit import audited_values

SUMMARY_CHARS = 90


class StoreFilter(admin.SimpleListFilter):
    """Calls by managers who can see a store: those mapped to it, and head office.

    Mappings are read as they are now, like row-level security reads them.
    """

    title = "store (callers who see it)"
    parameter_name = "store"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(s.store_id), s.store_name) for s in Store.objects.order_by("store_name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value() or not self.value().isdigit():
            return queryset
        return queryset.filter(
            Q(manager__store_mappings__store_id=int(self.value()))
            | Q(manager__kind=ManagerKind.HEAD_OFFICE)
        ).distinct()


class _IndexedValueFilter(admin.SimpleListFilter):
    """A filter by the values of an indexed column, read off its index, not the table."""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value) for value in audited_values(self.parameter_name)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ToolFilter(_IndexedValueFilter):
    title = "tool"
    parameter_name = "tool"


class MethodFilter(_IndexedValueFilter):
    title = "method"
    parameter_name = "method"


@admin.register(AuditedRequest)
class AuditedRequestAdmin(EstimatedCountAdminMixin, ZavaModelAdmin):
    list_display = [
        "created_at",
        "manager",
        "method",
        "tool",
        "outcome",
        "error_code",
        "rows",
        "duration_ms",
        "summary",
    ]
    # No date_hierarchy and no SELECT DISTINCT: both read every row, and the audit
    # grows by millions a day (bench/audit_retention.py). Dates filter by range.
    list_filter = [
        ("created_at", admin.DateFieldListFilter),
        "outcome",
        MethodFilter,
        ToolFilter,
        "manager",
        StoreFilter,
    ]
    list_select_related = ["manager", "token"]
    search_fields = [
        "request_id",
        "client_request_id",
        "query_fingerprint",
        "manager__email",
        "manager__name",
    ]
    fields = [
        "created_at",
        "manager",
        "token_prefix",
        "method",
        "tool",
        "unverified_name",
        "outcome",
        "error_code",
        "rows",
        "duration_ms",
        "request_id",
        "client_request_id",
        "client",
        "query_fingerprint",
        "query_sha256",
        "sanitised",
        "arguments_display",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="SQL or arguments")
    def summary(self, call: AuditedRequest) -> str:
        """A query's fingerprint first (padding cannot push the statement out of view)."""
        text = _main_argument(call.arguments)
        text = text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"
        return f"[{call.query_fingerprint}] {text}" if call.query_fingerprint else text

    @admin.display(description="token")
    def token_prefix(self, call: AuditedRequest) -> str:
        return f"{call.token.prefix}…" if call.token else "—"

    @admin.display(description="SQL or arguments")
    def arguments_display(self, call: AuditedRequest) -> str:
        query = (call.arguments or {}).get("postgresql_query")
        if isinstance(query, str):
            return format_html('<pre class="zava-sql">{}</pre>', query)
        return format_html(
            '<pre class="zava-sql">{}</pre>',
            json.dumps(call.arguments, indent=2, ensure_ascii=False),
        )


def _main_argument(arguments: Any) -> str:
    """The SQL of a query, the text of a search, or the arguments as compact JSON."""
    if not isinstance(arguments, dict) or not arguments:
        return ""
    for key in ("postgresql_query", "query_description"):
        if isinstance(arguments.get(key), str):
            return " ".join(arguments[key].split())
    return json.dumps(arguments, ensure_ascii=False)
