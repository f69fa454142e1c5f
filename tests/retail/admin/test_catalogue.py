"""The catalogue in the admin: embedding status per product, and re-embedding on demand."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from retail.admin.catalogue import with_embedding_status
from retail.models import Product, ProductEmbedding
from retail.services.product_embeddings import content_hash, product_text
from tests.retail.admin.conftest import errors_of, form_data

CHANGELIST = reverse("admin:retail_product_changelist")


def statuses(client, **filters: str) -> dict[int, str]:
    response = client.get(CHANGELIST, {"all": "", **filters})
    return {p.product_id: p.embedding_status for p in response.context["cl"].result_list}


@pytest.fixture
def product(database) -> Iterator[Product]:
    """A product whose text a test may change; its text and embedding are restored after."""
    product = Product.objects.order_by("product_id").first()
    original = product.product_description
    embedding = ProductEmbedding.objects.get(pk=product.pk)
    saved = {
        field: getattr(embedding, field)
        for field in ("description_embedding", "model_name", "content_hash", "created_at")
    }
    yield product
    Product.objects.filter(pk=product.pk).update(product_description=original)
    ProductEmbedding.objects.update_or_create(product_id=product.pk, defaults=saved)


def test_the_sql_hash_agrees_with_the_embedding_services_hash(database):
    products = with_embedding_status(Product.objects.all())
    assert {p.embedding_status for p in products} == {"current"}
    sample = Product.objects.order_by("product_id").first()
    assert ProductEmbedding.objects.get(pk=sample.pk).content_hash == content_hash(
        product_text(sample.product_name, sample.product_description)
    )


def test_the_list_shows_each_products_embedding_status_and_model(admin_client, database):
    page = admin_client.get(CHANGELIST).content.decode()
    assert "current" in page
    assert ProductEmbedding.objects.first().model_name in page


def test_editing_a_product_makes_its_embedding_stale_and_re_embedding_fixes_it(
    admin_client, product
):
    url = reverse("admin:retail_product_change", args=[product.pk])
    data = form_data(admin_client.get(url))
    data["product_description"] = product.product_description + " Now with a lifetime warranty."
    response = admin_client.post(url, data)
    assert response.status_code == 302, errors_of(response)

    assert statuses(admin_client, embedding="stale") == {product.pk: "stale"}
    before = ProductEmbedding.objects.get(pk=product.pk).content_hash

    response = admin_client.post(
        CHANGELIST,
        {"action": "re_embed", ACTION_CHECKBOX_NAME: [product.pk]},
        follow=True,
    )
    assert "Re-embedded 1 product(s)" in response.content.decode()
    assert statuses(admin_client, embedding="stale") == {}
    assert ProductEmbedding.objects.get(pk=product.pk).content_hash != before


def test_a_products_type_must_belong_to_its_category(admin_client, product):
    url = reverse("admin:retail_product_change", args=[product.pk])
    data = form_data(admin_client.get(url))
    other_type = Product.objects.exclude(category=product.category).first().type
    data["type"] = str(other_type.pk)
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert f"belongs to {other_type.category}" in errors_of(response)


def test_the_missing_filter_finds_products_without_an_embedding(admin_client, product):
    assert statuses(admin_client, embedding="missing") == {}
    ProductEmbedding.objects.filter(pk=product.pk).delete()
    assert statuses(admin_client, embedding="missing") == {product.pk: "missing"}


def test_categories_and_types_list_their_products(admin_client, database):
    categories = admin_client.get(reverse("admin:retail_category_changelist"))
    assert sum(c.product_total for c in categories.context["cl"].result_list) == (
        Product.objects.count()
    )
    types = admin_client.get(reverse("admin:retail_producttype_changelist"), {"all": ""})
    assert sum(t.product_total for t in types.context["cl"].result_list) == (
        Product.objects.count()
    )
