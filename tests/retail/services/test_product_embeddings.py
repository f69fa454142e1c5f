"""embed_products is incremental and idempotent, rebuilds on request, refuses mixed models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from django.db import connection

from retail.embeddings import get_provider
from retail.embeddings.base import EmbeddingProvider
from retail.models import Product, ProductEmbedding
from retail.services.product_embeddings import (
    EmbeddingModelMismatch,
    content_hash,
    embed_products,
    product_text,
    stored_embeddings_match,
)


class HashingProvider(EmbeddingProvider):
    """A tiny deterministic stand-in model, to test what happens across models."""

    name = "test"
    model_name = "test/hashing-8d"
    dimensions = 8

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        rows = np.array(
            [[(hash((text, i)) % 1000) + 1 for i in range(self.dimensions)] for text in texts],
            dtype=np.float32,
        ).reshape(len(texts), self.dimensions)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def _snapshot() -> dict[int, tuple[str, str]]:
    return {
        row.product_id: (row.model_name, row.content_hash) for row in ProductEmbedding.objects.all()
    }


def test_every_product_is_embedded_with_the_local_model(database):
    assert ProductEmbedding.objects.count() == Product.objects.count()
    local = get_provider("local")
    assert set(ProductEmbedding.objects.values_list("model_name", flat=True)) == {local.model_name}
    product = Product.objects.order_by("product_id").first()
    stored = ProductEmbedding.objects.get(product=product)
    assert stored.content_hash == content_hash(
        product_text(product.product_name, product.product_description)
    )
    expected = local.embed_one(product_text(product.product_name, product.product_description))
    assert np.allclose(np.array(stored.description_embedding), expected, atol=1e-5)


def test_a_second_run_embeds_nothing(database):
    before = _snapshot()
    summary = embed_products()
    assert summary.embedded == 0
    assert summary.unchanged == len(before)
    assert _snapshot() == before


def test_a_changed_description_is_embedded_again_and_only_it(database):
    product = Product.objects.order_by("product_id").first()
    original = product.product_description
    try:
        Product.objects.filter(pk=product.pk).update(product_description=original + " Now blue.")
        summary = embed_products()
        assert summary.embedded == 1
        stored = ProductEmbedding.objects.get(product=product)
        assert stored.content_hash == content_hash(
            product_text(product.product_name, original + " Now blue.")
        )
    finally:
        Product.objects.filter(pk=product.pk).update(product_description=original)
        embed_products()


def test_a_different_model_is_refused_without_rebuild(database):
    before = _snapshot()
    with pytest.raises(EmbeddingModelMismatch, match="--rebuild"):
        embed_products(provider=HashingProvider())
    assert _snapshot() == before


@pytest.mark.slow
def test_rebuild_replaces_every_vector_and_resizes_the_column(database):
    def column_dimensions() -> int:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = "
                "'retail.product_description_embeddings'::regclass "
                "AND attname = 'description_embedding'"
            )
            return cursor.fetchone()[0]

    try:
        summary = embed_products(provider=HashingProvider(), rebuild=True)
        assert summary.embedded == Product.objects.count()
        assert set(ProductEmbedding.objects.values_list("model_name", flat=True)) == {
            "test/hashing-8d"
        }
        assert column_dimensions() == 8
    finally:
        embed_products(rebuild=True)  # back to the local model for the other tests
    assert column_dimensions() == 384
    assert ProductEmbedding.objects.count() == Product.objects.count()


def test_the_search_function_is_served_by_the_hnsw_index(database):
    local = get_provider("local")
    vector = "[" + ",".join(map(str, local.embed_one("paint bucket"))) + "]"
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (COSTS OFF) SELECT * FROM "
            "retail.search_products_by_description(%s::vector, 30, 20)",
            [vector],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Scan using product_embeddings_hnsw" in plan, plan


@pytest.mark.parametrize(
    ("stored", "dimensions", "match"),
    [
        pytest.param([], None, True, id="nothing-stored"),
        pytest.param(["test/hashing-8d"], None, True, id="same-model"),
        pytest.param(["test/hashing-8d"], 8, True, id="same-model-and-size"),
        pytest.param(["test/hashing-8d"], 384, False, id="same-model-other-size"),
        pytest.param(["other"], None, False, id="other-model"),
        pytest.param(["test/hashing-8d", "other"], None, False, id="mixed-models"),
    ],
)
def test_stored_embeddings_match_the_provider_only_when_all_come_from_its_model(
    stored, dimensions, match
):
    assert stored_embeddings_match(stored, HashingProvider(), dimensions) is match
