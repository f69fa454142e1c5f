"""The contract every embedding provider keeps, and its error type.

Vectors from different providers (or models) are not comparable, so each
provider names itself and its model: callers store ``model_name`` and
``dimensions`` next to the vectors and refuse to mix them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from infrastructure.observability.embedding_metrics import instrumented
from retail.errors import ServiceUnavailable

#: Smallest norm divided by when normalising, as sentence-transformers does,
#: so an all-zero row stays zero instead of turning into NaN.
_NORM_EPS = 1e-12


class EmbeddingError(ServiceUnavailable):
    """An embedding provider failed or is not set up.

    The message is shown to clients, so it never carries keys, URLs with
    credentials or upstream bodies; details go to the log. ``reason`` is a
    stable sub-code (``not_configured``, ``model_checksum``, ``rate_limited``,
    ``timeout``, ``connection``, ``auth``, ``rejected``, ``upstream``,
    ``bad_response``, ``model_failed``).
    """


class EmbeddingProvider(ABC):
    """Turns texts into L2-normalised float32 vectors of a fixed size."""

    #: Provider id: "local", "openai" or "azure_openai".
    name: str
    #: Model the vectors come from; stored beside every vector.
    model_name: str
    #: Length of every vector.
    dimensions: int
    #: Texts per model call (local) or per HTTP request (remote) when the
    #: caller does not choose.
    default_batch_size: int = 64

    def __init_subclass__(cls, **kwargs: object) -> None:
        """Measure every provider's ``embed`` (calls, texts, latency) for /metrics."""
        super().__init_subclass__(**kwargs)
        if "embed" in cls.__dict__ and not getattr(cls.embed, "__isabstractmethod__", False):
            setattr(cls, "embed", instrumented(cls.embed))  # noqa: B010 - a method, replaced

    @abstractmethod
    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed ``texts`` in order: float32, shape (len(texts), dimensions), unit rows.

        ``batch_size`` None means the provider's ``default_batch_size``.
        """

    def embed_one(self, text: str) -> np.ndarray:
        """Embed a single text: float32, shape (dimensions,), unit norm."""
        if not isinstance(text, str):
            raise TypeError(f"text must be str, not {type(text).__name__}")
        return self.embed([text])[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}:{self.model_name} ({self.dimensions}d)>"


def check_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, refusing a bare string.

    A ``str`` is itself a ``Sequence[str]``; embedding it would silently embed
    each character, so it is a caller bug worth failing loudly on.
    """
    if isinstance(texts, str | bytes):
        raise TypeError("embed() takes a sequence of texts; use embed_one() for one text")
    items = list(texts)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"texts[{index}] must be str, not {type(item).__name__}")
    return items


def check_batch_size(batch_size: int | None, default: int, *, limit: int | None = None) -> int:
    """Resolve and validate a batch size (positive, at most ``limit``)."""
    size = default if batch_size is None else batch_size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
    return min(size, limit) if limit is not None else size


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise each row, as float32 (cosine similarity becomes a dot product)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, _NORM_EPS)


def empty_matrix(dimensions: int) -> np.ndarray:
    """The (0, dimensions) float32 answer for an empty input list."""
    return np.empty((0, dimensions), dtype=np.float32)
