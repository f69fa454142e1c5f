"""Product embeddings with an HNSW cosine index, and the search function tools call.

``retail.search_products_by_description`` is plain SQL (``SECURITY INVOKER``), so it
runs with the tenant role's privileges and the planner inlines it: the ORDER BY ...
LIMIT on the cosine distance is served by the HNSW index.
"""

import django.db.models.deletion
import django.db.models.functions.datetime
import pgvector.django.indexes
import pgvector.django.vector
from django.conf import settings
from django.db import migrations, models

import retail.fields

SEARCH_FUNCTION = """
CREATE OR REPLACE FUNCTION retail.search_products_by_description(
    query_embedding vector,
    similarity_threshold double precision DEFAULT 30.0,
    max_results integer DEFAULT 20
) RETURNS TABLE (
    product_id integer,
    sku text,
    product_name text,
    category_name text,
    type_name text,
    base_price numeric,
    product_description text,
    similarity_distance double precision
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
    SELECT p.product_id, p.sku, p.product_name, c.category_name, t.type_name, p.base_price,
           p.product_description, nearest.distance
      FROM (SELECT e.product_id, e.description_embedding <=> query_embedding AS distance
              FROM retail.product_description_embeddings e
             ORDER BY e.description_embedding <=> query_embedding
             LIMIT least(greatest(max_results, 1), 100)) AS nearest
      JOIN retail.products p ON p.product_id = nearest.product_id
      JOIN retail.categories c ON c.category_id = p.category_id
      JOIN retail.product_types t ON t.type_id = p.type_id
     WHERE nearest.distance <= 1 - similarity_threshold / 100.0
     ORDER BY nearest.distance
$fn$
"""
SIGNATURE = "retail.search_products_by_description(vector, double precision, integer)"


def grant(apps, schema_editor):
    tenant = schema_editor.connection.ops.quote_name(settings.ZAVA_DB_ROLES["tenant"])
    schema_editor.execute(SEARCH_FUNCTION, None)
    schema_editor.execute(f"REVOKE ALL ON FUNCTION {SIGNATURE} FROM PUBLIC", None)
    schema_editor.execute(f"GRANT EXECUTE ON FUNCTION {SIGNATURE} TO {tenant}", None)
    schema_editor.execute(
        f"GRANT SELECT ON retail.product_description_embeddings TO {tenant}", None
    )


def revoke(apps, schema_editor):
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}", None)


class Migration(migrations.Migration):
    dependencies = [
        ("retail", "0003_access_tokens_and_audit"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProductEmbedding",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        db_column="product_id",
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="embedding",
                        serialize=False,
                        to="retail.product",
                    ),
                ),
                ("description_embedding", pgvector.django.vector.VectorField(dimensions=384)),
                ("model_name", models.TextField()),
                ("content_hash", models.TextField()),
                (
                    "created_at",
                    retail.fields.TimestampField(
                        db_default=django.db.models.functions.datetime.Now()
                    ),
                ),
            ],
            options={
                "db_table": 'retail"."product_description_embeddings',
                "indexes": [
                    pgvector.django.indexes.HnswIndex(
                        ef_construction=64,
                        fields=["description_embedding"],
                        m=16,
                        name="product_embeddings_hnsw",
                        opclasses=["vector_cosine_ops"],
                    )
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
