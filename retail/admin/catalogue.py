"""The catalogue: categories, product types and products with their embedding status.

A product's embedding is current when its stored content hash matches its present
name and description, stale when the text changed since, and missing when it has
none. The hash is computed in SQL (core ``sha256()`` of the same text the embedding
service hashes), so the status can be filtered on without loading every product.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Case, CharField, Count, Func, QuerySet, TextField, Value, When
from django.db.models.functions import Concat
from django.http import HttpRequest

from retail.admin.base import ZavaModelAdmin, ZavaTabularInline
from retail.errors import ZavaError
from retail.models import Category, Product, ProductType
from retail.services.product_embeddings import embed_products

CURRENT, STALE, MISSING = "current", "stale", "missing"


class Sha256Hex(Func):
    """Hex SHA-256 of UTF-8 text, as ``content_hash`` computes it in Python.

    Django's own ``SHA256`` needs pgcrypto, which the embedded server lacks; the
    core ``sha256(bytea)`` does the same.
    """

    template = "encode(sha256(convert_to(%(expressions)s, 'UTF8')), 'hex')"
    output_field = TextField()


def with_embedding_status(queryset: QuerySet) -> QuerySet:
    """Annotate ``embedding_status``: current, stale or missing."""
    text_hash = Sha256Hex(
        Concat("product_name", Value(". "), "product_description", output_field=TextField())
    )
    return queryset.annotate(
        embedding_status=Case(
            When(embedding__isnull=True, then=Value(MISSING)),
            When(embedding__content_hash=text_hash, then=Value(CURRENT)),
            default=Value(STALE),
            output_field=CharField(),
        )
    )


class EmbeddingStatusFilter(admin.SimpleListFilter):
    title = "embedding"
    parameter_name = "embedding"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(CURRENT, "Current"), (STALE, "Stale (text changed)"), (MISSING, "Missing")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in (CURRENT, STALE, MISSING):
            return queryset.filter(embedding_status=self.value())
        return queryset


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "sku",
            "product_name",
            "category",
            "type",
            "cost",
            "base_price",
            "gross_margin_percent",
            "product_description",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        category, product_type = data.get("category"), data.get("type")
        if category and product_type and product_type.category_id != category.pk:
            self.add_error(
                "type", f"{product_type} belongs to {product_type.category}, not to {category}."
            )
        return data


@admin.register(Product)
class ProductAdmin(ZavaModelAdmin):
    form = ProductForm
    list_display = [
        "product_name",
        "sku",
        "category",
        "type",
        "base_price",
        "embedding_status_display",
        "embedding_model",
    ]
    list_filter = [EmbeddingStatusFilter, "category"]
    list_select_related = ["category", "type", "embedding"]
    search_fields = ["product_name", "sku"]
    readonly_fields = ["embedding_status_display", "embedding_model", "embedded_at"]
    fieldsets = [
        (None, {"fields": ProductForm.Meta.fields}),
        ("Embedding", {"fields": readonly_fields}),
    ]
    actions = ["re_embed"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_embedding_status(super().get_queryset(request).select_related("embedding"))

    @admin.display(description="embedding", ordering="embedding_status")
    def embedding_status_display(self, product: Product) -> str:
        return getattr(product, "embedding_status", None) or MISSING

    @admin.display(description="embedding model", ordering="embedding__model_name")
    def embedding_model(self, product: Product) -> str:
        embedding = getattr(product, "embedding", None)
        return embedding.model_name if embedding else "—"

    @admin.display(description="embedded at")
    def embedded_at(self, product: Product) -> Any:
        embedding = getattr(product, "embedding", None)
        return embedding.created_at if embedding else "—"

    @admin.action(description="Re-embed selected products", permissions=["change"])
    def re_embed(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.values_list("product_id", flat=True))
        try:
            summary = embed_products(product_ids=ids)
        except ZavaError as exc:  # a model mismatch, or the provider is unavailable
            self.message_user(request, f"Nothing re-embedded: {exc.message}", messages.ERROR)
            return
        for product in Product.objects.filter(product_id__in=ids):
            self.log_change(request, product, f"Re-embedded with {summary.model_name}.")
        self.message_user(
            request,
            f"Re-embedded {summary.embedded} product(s) with {summary.model_name} "
            f"in {summary.seconds:.1f} s.",
            messages.SUCCESS,
        )


class ProductTypesInline(ZavaTabularInline):
    model = ProductType
    fields = ["type_name"]
    extra = 0


@admin.register(Category)
class CategoryAdmin(ZavaModelAdmin):
    list_display = ["category_name", "type_count", "product_count"]
    search_fields = ["category_name"]
    inlines = [ProductTypesInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                types=Count("product_types", distinct=True),
                product_total=Count("products", distinct=True),
            )
        )

    @admin.display(description="types", ordering="types")
    def type_count(self, category: Category) -> int:
        return category.types

    @admin.display(description="products", ordering="product_total")
    def product_count(self, category: Category) -> int:
        return category.product_total


@admin.register(ProductType)
class ProductTypeAdmin(ZavaModelAdmin):
    list_display = ["type_name", "category", "product_count"]
    list_filter = ["category"]
    list_select_related = ["category"]
    search_fields = ["type_name", "category__category_name"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(product_total=Count("products"))

    @admin.display(description="products", ordering="product_total")
    def product_count(self, product_type: ProductType) -> int:
        return product_type.product_total
