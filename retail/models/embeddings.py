"""Stored product embeddings for semantic search (the reference's table, plus provenance).

``model_name`` records which model made each vector, so that a query is never
compared with vectors of another model; ``content_hash`` lets ``embed_products``
re-embed only products whose name or description changed.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now
from pgvector.django import HnswIndex, VectorField

from retail.fields import TimestampField
from retail.models.retail_schema import Product

# all-MiniLM-L6-v2. Another model size is a deliberate step: `embed_products
# --provider ... --rebuild` changes the column and rebuilds the index.
DEFAULT_DIMENSIONS = 384


class ProductEmbedding(models.Model):
    product = models.OneToOneField(
        Product,
        models.CASCADE,
        primary_key=True,
        db_column="product_id",
        related_name="embedding",
    )
    description_embedding = VectorField(dimensions=DEFAULT_DIMENSIONS)
    model_name = models.TextField()
    content_hash = models.TextField()
    created_at = TimestampField(db_default=Now())

    class Meta:
        db_table = 'retail"."product_description_embeddings'
        indexes = [
            HnswIndex(
                name="product_embeddings_hnsw",
                fields=["description_embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"Embedding of {self.product_id} ({self.model_name})"
