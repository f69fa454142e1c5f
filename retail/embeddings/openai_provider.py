"""Embeddings from OpenAI or Azure OpenAI through the official ``openai`` SDK.

Retries are the SDK's own (``max_retries``): it retries connection errors,
timeouts, 408, 409, 429 and 5xx with exponential backoff and jitter (0.5 s
doubling up to 8 s) and honours ``Retry-After`` / ``retry-after-ms`` when the
server sends a positive value of at most two minutes. What still fails after
that becomes an :class:`EmbeddingError` with a message safe to show a client;
the status code and request id go to the log, never the key.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import openai

from retail.embeddings.base import (
    EmbeddingError,
    EmbeddingProvider,
    check_batch_size,
    check_texts,
    empty_matrix,
    normalize_rows,
)

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "text-embedding-3-small"
DEFAULT_AZURE_API_VERSION = "2024-10-21"
OPENAI_BASE_URL = "https://api.openai.com/v1"
AZURE_SCOPE = "https://cognitiveservices.azure.com/.default"
#: Native sizes; a configured ``dimensions`` (text-embedding-3 only) overrides.
KNOWN_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
#: The API takes at most 2,048 inputs per request.
MAX_INPUTS_PER_REQUEST = 2048
#: The API also caps a request at 300,000 tokens in all. A token is at least
#: about one character for nearly all text, so this many characters per
#: request stays under the cap without a tokenizer (ordinary English runs about
#: 4 characters per token, so typical batches never come near it).
MAX_CHARS_PER_REQUEST = 250_000


class OpenAIEmbeddingProvider(EmbeddingProvider):
    """Remote embeddings: one SDK call per batch, rows checked and normalised.

    Build it with :meth:`for_openai` or :meth:`for_azure`; the constructor
    takes a ready client so tests and callers can supply their own. Safe to
    share between threads (the SDK client is).
    """

    default_batch_size = 512

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        name: str,
        model: str,
        model_name: str | None = None,
        dimensions: int | None = None,
        max_chars_per_request: int = MAX_CHARS_PER_REQUEST,
    ) -> None:
        """``model`` is what the request names (the deployment, on Azure);
        ``model_name`` is what is recorded with the vectors (default ``model``).
        ``dimensions`` is sent to the API only when given."""
        self._client = client
        self.name = name
        self._model = model
        self.model_name = model_name or model
        self._requested_dimensions = dimensions
        if dimensions is not None:
            if isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
                raise EmbeddingError(
                    "The embedding dimensions setting must be a positive integer.",
                    reason="not_configured",
                )
            self.dimensions = dimensions
        elif self.model_name in KNOWN_DIMENSIONS:
            self.dimensions = KNOWN_DIMENSIONS[self.model_name]
        else:
            raise EmbeddingError(
                f"The vector size of embedding model {self.model_name!r} is unknown; "
                "configure the embedding dimensions.",
                reason="not_configured",
            )
        self._max_chars = max_chars_per_request

    # -- construction ------------------------------------------------------------

    @classmethod
    def for_openai(
        cls,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = DEFAULT_MODEL,
        dimensions: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
    ) -> OpenAIEmbeddingProvider:
        """OpenAI (or a compatible server at ``base_url``), Bearer-key auth.

        Every value is passed explicitly so the SDK never falls back to
        environment variables: Django settings stay the one source of truth.
        """
        if not api_key:
            raise EmbeddingError(
                "The OpenAI embedding provider is not configured (no API key).",
                reason="not_configured",
            )
        try:
            client = openai.OpenAI(
                api_key=api_key,
                base_url=base_url or OPENAI_BASE_URL,
                timeout=timeout,
                max_retries=max_retries,
            )
        except (openai.OpenAIError, ValueError) as exc:
            logger.error("cannot build the OpenAI client: %s", type(exc).__name__)
            raise EmbeddingError(
                "The OpenAI embedding provider is misconfigured.", reason="not_configured"
            ) from exc
        return cls(client, name="openai", model=model, dimensions=dimensions)

    @classmethod
    def for_azure(
        cls,
        *,
        endpoint: str,
        deployment: str = DEFAULT_MODEL,
        api_version: str = DEFAULT_AZURE_API_VERSION,
        api_key: str | None = None,
        token_provider: Callable[[], str] | None = None,
        model_name: str | None = None,
        dimensions: int | None = None,
        timeout: float = 30.0,
        max_retries: int = 3,
    ) -> OpenAIEmbeddingProvider:
        """Azure OpenAI: ``api-key`` header, or Entra ID tokens from ``token_provider``.

        Requests go to ``{endpoint}/openai/deployments/{deployment}/embeddings``.
        ``model_name`` (default: the deployment name) is what gets recorded.
        """
        if not endpoint:
            raise EmbeddingError(
                "The Azure OpenAI embedding provider is not configured (no endpoint).",
                reason="not_configured",
            )
        if not api_key and token_provider is None:
            raise EmbeddingError(
                "The Azure OpenAI embedding provider has neither an API key nor Entra ID "
                "credentials.",
                reason="not_configured",
            )
        auth: dict[str, Any] = (
            {"api_key": api_key}
            if api_key
            else {"azure_ad_token_provider": _guard_token_provider(token_provider)}
        )
        try:
            client = openai.AzureOpenAI(
                azure_endpoint=endpoint,
                api_version=api_version,
                timeout=timeout,
                max_retries=max_retries,
                **auth,
            )
        except (openai.OpenAIError, ValueError) as exc:
            logger.error("cannot build the Azure OpenAI client: %s", type(exc).__name__)
            raise EmbeddingError(
                "The Azure OpenAI embedding provider is misconfigured.", reason="not_configured"
            ) from exc
        return cls(
            client,
            name="azure_openai",
            model=deployment,
            model_name=model_name or deployment,
            dimensions=dimensions,
        )

    # -- embedding -----------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed texts in order, one request per batch of at most ``batch_size``."""
        items = check_texts(texts)
        size = check_batch_size(batch_size, self.default_batch_size, limit=MAX_INPUTS_PER_REQUEST)
        if not items:
            return empty_matrix(self.dimensions)
        # The API refuses empty strings; a lone space is the nearest thing it takes.
        items = [text if text else " " for text in items]
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        for start, stop in self._batches(items, size):
            out[start:stop] = self._request(items[start:stop])
        return out

    def _batches(self, items: list[str], size: int) -> Iterator[tuple[int, int]]:
        """Consecutive (start, stop) ranges of at most ``size`` items and ~max chars."""
        start = 0
        while start < len(items):
            stop, chars = start, 0
            while stop < len(items) and stop - start < size:
                chars += len(items[stop])
                if chars > self._max_chars and stop > start:
                    break
                stop += 1
            yield start, stop
            start = stop

    def _request(self, batch: list[str]) -> np.ndarray:
        """One embeddings call (the SDK retries inside it); rows checked and normalised."""
        extra: dict[str, Any] = {}
        if self._requested_dimensions is not None:
            extra["dimensions"] = self._requested_dimensions
        try:
            response = self._client.embeddings.create(input=batch, model=self._model, **extra)
        except EmbeddingError:
            raise  # from our Entra ID token guard
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(batch) or [row.index for row in rows] != list(range(len(batch))):
            logger.error(
                "%s returned %d embeddings for %d inputs", self.name, len(rows), len(batch)
            )
            raise EmbeddingError(
                "The embedding service returned an incomplete answer.", reason="bad_response"
            )
        try:
            matrix = np.stack([_as_vector(row.embedding) for row in rows])
        except (TypeError, ValueError) as exc:
            logger.error("%s returned undecodable embeddings: %s", self.name, exc)
            raise EmbeddingError(
                "The embedding service returned malformed vectors.", reason="bad_response"
            ) from exc
        if matrix.shape[1] != self.dimensions:
            logger.error(
                "%s returned %d-dim vectors, expected %d",
                self.name,
                matrix.shape[1],
                self.dimensions,
            )
            raise EmbeddingError(
                "The embedding service returned vectors of an unexpected size.",
                reason="bad_response",
            )
        return normalize_rows(matrix)

    def _translate(self, exc: openai.OpenAIError) -> EmbeddingError:
        """Map an SDK failure (after its retries) to a client-safe EmbeddingError.

        Only the status, request id and error code are logged: upstream
        messages can quote input text or a masked key.
        """
        status = getattr(exc, "status_code", None)
        logger.warning(
            "%s embeddings failed: %s status=%s request_id=%s code=%s",
            self.name,
            type(exc).__name__,
            status,
            getattr(exc, "request_id", None),
            getattr(exc, "code", None),
        )
        if isinstance(exc, openai.RateLimitError):
            return EmbeddingError(
                "The embedding service is rate limiting requests; try again shortly.",
                reason="rate_limited",
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return EmbeddingError(
                "The embedding service refused the configured credentials.", reason="auth"
            )
        if isinstance(exc, openai.APITimeoutError):
            return EmbeddingError("The embedding service timed out.", reason="timeout")
        if isinstance(exc, openai.APIConnectionError):
            return EmbeddingError(
                "The embedding service could not be reached.", reason="connection"
            )
        if isinstance(exc, openai.NotFoundError):
            return EmbeddingError(
                "The configured embedding model or deployment was not found.",
                reason="not_configured",
            )
        if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
            return EmbeddingError("The embedding service rejected the request.", reason="rejected")
        return EmbeddingError("The embedding service failed.", reason="upstream")


def _as_vector(embedding: object) -> np.ndarray:
    """A row as float32: a list of floats, or base64 little-endian float32."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4").astype(np.float32)
    vector = np.asarray(embedding, dtype=np.float32)
    if vector.ndim != 1:
        raise ValueError(f"expected a flat vector, got shape {vector.shape}")
    return vector


def _guard_token_provider(provider: Callable[[], str] | None) -> Callable[[], str]:
    """Wrap an Entra ID token provider so its failures become EmbeddingError(auth)."""
    if provider is None:  # for_azure checks first; keeps the type checker honest
        raise EmbeddingError("No Entra ID token provider.", reason="not_configured")

    def get_token() -> str:
        try:
            return provider()
        except Exception as exc:  # azure-identity raises many kinds
            logger.warning("Entra ID token request failed: %s", type(exc).__name__)
            raise EmbeddingError(
                "Could not obtain Entra ID credentials for Azure OpenAI.", reason="auth"
            ) from exc

    return get_token


def entra_id_token_provider() -> Callable[[], str]:
    """A bearer-token provider from azure-identity's DefaultAzureCredential.

    Used for Azure OpenAI when no API key is configured (managed identity,
    workload identity, ``az login``...). azure-identity is optional.
    """
    try:
        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
    except ImportError as exc:
        raise EmbeddingError(
            "Azure OpenAI needs an API key (AZURE_OPENAI_API_KEY) or the azure-identity "
            "package for Entra ID sign-in.",
            reason="not_configured",
        ) from exc
    return get_bearer_token_provider(DefaultAzureCredential(), AZURE_SCOPE)
