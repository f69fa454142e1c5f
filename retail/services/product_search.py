"""Semantic product search: validate, embed the question, ask PostgreSQL for neighbours.

Semantics follow the reference: ``similarity_threshold`` is a percentage (cosine
distance cut-off ``1 - t/100``), ``max_rows`` is capped at 100, and each product
comes back with ``similarity_distance`` and ``sp``, its similarity in percent.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from retail.embeddings import EmbeddingProvider, get_provider
from retail.errors import InvalidInput, ServiceUnavailable
from retail.services.product_embeddings import stored_embeddings_match, vector_literal
from retail.tenancy import JsonValue, QueryResult, tenant_cursor, to_json_value

MAX_ROWS_CAP = 100
MAX_QUERY_CHARS = 1_000
_CACHE_SIZE = 512

_cache_lock = threading.Lock()
_query_vectors: OrderedDict[tuple[str, str], str] = OrderedDict()

_NEAREST_SQL = """
SELECT product_id, sku, product_name, category_name, type_name, base_price, product_description,
       similarity_distance
  FROM retail.search_products_by_description(%s::vector, %s, %s)
"""


def search_products_by_embedding(
    embedding_text: str, *, similarity_threshold: float, max_rows: int
) -> QueryResult:
    """Nearest products to a query vector (pgvector text form), within the threshold."""
    with tenant_cursor() as cursor:
        # HNSW looks at ef_search candidates: 100 keeps recall@20 near 0.96 at 100k
        # products (bench/hnsw_scale.py), for about 1 ms more than the default 40.
        cursor.execute(
            "SELECT set_config('hnsw.ef_search', %s, true)", [str(max(100, 2 * max_rows))]
        )
        cursor.execute(_NEAREST_SQL, [embedding_text, similarity_threshold, max_rows])
        columns = [column.name for column in cursor.description or ()]
        fetched = cursor.fetchall()
    return QueryResult(columns, [[to_json_value(value) for value in row] for row in fetched])


def stored_embedding_models() -> list[str]:
    """Model names of the stored vectors, read as the tenant (cheap: a handful of rows)."""
    with tenant_cursor() as cursor:
        cursor.execute("SELECT DISTINCT model_name FROM retail.product_description_embeddings")
        return [row[0] for row in cursor.fetchall()]


def search_products(
    *, query: str, max_rows: int = 20, similarity_threshold: float = 30.0
) -> QueryResult:
    text = (query or "").strip()
    if not text:
        raise InvalidInput("query_description must describe a product; it is empty.")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query_description is longer than {MAX_QUERY_CHARS} characters.")
    if not 0 <= similarity_threshold <= 100:
        raise InvalidInput("similarity_threshold is a percentage between 0 and 100.")
    if max_rows < 1:
        raise InvalidInput("max_rows must be at least 1.")
    max_rows = min(max_rows, MAX_ROWS_CAP)

    provider = get_provider()
    stored = stored_embedding_models()
    if not stored:
        raise ServiceUnavailable(
            "Products have not been embedded yet; an operator must run embed_products."
        )
    if not stored_embeddings_match(stored, provider):
        raise ServiceUnavailable(
            f"The stored product embeddings come from {', '.join(stored)}, but searches use "
            f"{provider.model_name}; an operator must run embed_products --rebuild."
        )
    result = search_products_by_embedding(
        _query_vector(provider, text),
        similarity_threshold=float(similarity_threshold),
        max_rows=max_rows,
    )
    columns = [*result.columns, "sp"]
    distance = result.columns.index("similarity_distance")
    rows = [[*row, _similarity_percent(row[distance])] for row in result.rows]
    return QueryResult(columns, rows)


def _similarity_percent(distance: JsonValue) -> float:
    """Cosine distance as the percentage the tool reports (100: the same direction)."""
    if not isinstance(distance, int | float):
        raise TypeError(f"a cosine distance is a number, not {type(distance).__name__}")
    return round((1 - distance) * 100, 1)


def _query_vector(provider: EmbeddingProvider, text: str) -> str:
    """The query's vector in pgvector's text form, from a small per-process LRU cache."""
    key = (provider.model_name, text.lower())
    with _cache_lock:
        cached = _query_vectors.get(key)
        if cached is not None:
            _query_vectors.move_to_end(key)
            return cached
    encoded = vector_literal(provider.embed_one(text))
    with _cache_lock:
        _query_vectors[key] = encoded
        while len(_query_vectors) > _CACHE_SIZE:
            _query_vectors.popitem(last=False)
    return encoded
