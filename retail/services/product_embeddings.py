"""Keeping ``product_description_embeddings`` in step with the catalogue.

Each product is embedded as "{name}. {description}", as the reference did. The run
is incremental: a product is embedded again only when its text changed (its content
hash differs) or it has no vector yet. Vectors of one model are never mixed with
another's: a different provider needs ``rebuild=True``, which also resizes the
column when the new model's vectors have another length.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from retail.embeddings import EmbeddingProvider, get_provider
from retail.errors import InvalidInput
from retail.models import Product, ProductEmbedding

ProgressCallback = Callable[[int], None]

_UPSERT = """
INSERT INTO retail.product_description_embeddings
    (product_id, description_embedding, model_name, content_hash, created_at)
VALUES (%s, %s::vector, %s, %s, now() AT TIME ZONE 'UTC')
ON CONFLICT (product_id) DO UPDATE SET
    description_embedding = EXCLUDED.description_embedding,
    model_name = EXCLUDED.model_name,
    content_hash = EXCLUDED.content_hash,
    created_at = EXCLUDED.created_at
"""


class EmbeddingModelMismatch(InvalidInput):
    """Stored vectors come from another model than the configured provider's."""


@dataclass(frozen=True)
class EmbedSummary:
    embedded: int
    unchanged: int
    model_name: str
    dimensions: int
    seconds: float


def product_text(name: str, description: str) -> str:
    return f"{name}. {description}"


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def stored_embeddings_match(
    stored_models: Collection[str], provider: EmbeddingProvider, dimensions: int | None = None
) -> bool:
    """Vectors stored by ``stored_models`` (with ``dimensions``, when known) can be
    compared with ``provider``'s: they all come from its model. True when none are
    stored; callers that need vectors check for that themselves."""
    same_model = set(stored_models) <= {provider.model_name}
    return same_model and (dimensions is None or dimensions == provider.dimensions)


def stored_model() -> tuple[set[str], int]:
    """Model names of the stored vectors, and the column's vector length."""
    names = set(ProductEmbedding.objects.values_list("model_name", flat=True).distinct())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT atttypmod FROM pg_attribute "
            "WHERE attrelid = 'retail.product_description_embeddings'::regclass "
            "AND attname = 'description_embedding'"
        )
        dimensions = cursor.fetchone()[0]
    return names, dimensions


def embed_products(
    *,
    provider: EmbeddingProvider | None = None,
    rebuild: bool = False,
    batch_size: int | None = None,
    product_ids: Sequence[int] | None = None,
    progress: ProgressCallback | None = None,
) -> EmbedSummary:
    """Embed missing and changed products (or the given ones, or all with ``rebuild``)."""
    provider = provider or get_provider()
    started = time.perf_counter()
    names, dimensions = stored_model()
    if not rebuild and not stored_embeddings_match(names, provider, dimensions):
        raise EmbeddingModelMismatch(
            f"Stored embeddings come from {', '.join(sorted(names)) or 'another model'} "
            f"({dimensions} dimensions); the provider is {provider.model_name} "
            f"({provider.dimensions}). Run embed_products --rebuild to replace them."
        )

    products = Product.objects.order_by("product_id")
    if product_ids is not None:
        products = products.filter(product_id__in=product_ids)
    texts = {
        product_id: product_text(name, description)
        for product_id, name, description in products.values_list(
            "product_id", "product_name", "product_description"
        )
    }
    if rebuild:
        todo = list(texts)
    else:
        known = dict(
            ProductEmbedding.objects.filter(product_id__in=texts).values_list(
                "product_id", "content_hash"
            )
        )
        forced = set(product_ids or ())
        todo = [
            pid
            for pid, text in texts.items()
            if pid in forced or known.get(pid) != content_hash(text)
        ]

    vectors = _embed_in_batches(provider, [texts[pid] for pid in todo], batch_size, progress)
    with transaction.atomic(), connection.cursor() as cursor:
        if rebuild:
            cursor.execute("DELETE FROM retail.product_description_embeddings")
            if dimensions != provider.dimensions:
                cursor.execute(
                    "ALTER TABLE retail.product_description_embeddings ALTER COLUMN "
                    f"description_embedding TYPE vector({int(provider.dimensions)})"
                )
        cursor.executemany(
            _UPSERT,
            [
                (pid, vector_literal(vector), provider.model_name, content_hash(texts[pid]))
                for pid, vector in zip(todo, vectors, strict=True)
            ],
        )
    return EmbedSummary(
        embedded=len(todo),
        unchanged=len(texts) - len(todo),
        model_name=provider.model_name,
        dimensions=provider.dimensions,
        seconds=time.perf_counter() - started,
    )


def _embed_in_batches(
    provider: EmbeddingProvider,
    texts: list[str],
    batch_size: int | None,
    progress: ProgressCallback | None,
) -> list[np.ndarray]:
    size = batch_size or provider.default_batch_size
    vectors: list[np.ndarray] = []
    for start in range(0, len(texts), size):
        batch = texts[start : start + size]
        vectors.extend(provider.embed(batch, batch_size=size))
        if progress:
            progress(len(batch))
    return vectors


def vector_literal(vector: Iterable[float]) -> str:
    """pgvector's text form of a vector (a NumPy row or any floats), float32 precision."""
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"
