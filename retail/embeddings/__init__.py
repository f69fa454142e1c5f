"""Text embeddings for semantic product search.

``get_provider()`` returns the process-wide provider chosen by settings
("local" all-MiniLM-L6-v2 by default, or "openai" / "azure_openai"); its
``embed(texts)`` gives float32 unit rows, so cosine similarity is a dot
product. Store ``provider.model_name`` and ``provider.dimensions`` with the
vectors: vectors of different models must never be compared.

Importing this package is cheap: ONNX Runtime and the OpenAI SDK load only
when a provider that needs them is built.
"""

from retail.embeddings.base import EmbeddingError, EmbeddingProvider
from retail.embeddings.factory import PROVIDER_NAMES, get_provider

__all__ = [
    "PROVIDER_NAMES",
    "EmbeddingError",
    "EmbeddingProvider",
    "get_provider",
]
