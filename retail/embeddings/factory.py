"""Choose and cache the embedding provider from Django settings.

Settings are read when ``get_provider`` is called, not at import, so the
module imports before settings are configured and tests can override them.
One provider per distinct configuration is kept for the life of the process:
the local model is loaded once and shared by every thread.

The settings (``ZAVA_EMBEDDING_PROVIDER``, ``ZAVA_EMBEDDING_TIMEOUT``,
``ZAVA_EMBEDDING_MAX_RETRIES``, ``OPENAI_*``, ``AZURE_OPENAI_*``) and their
defaults are read from the environment in ``zava/settings.py``, the one place
that knows them; the README's configuration table says what each means.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Any

from retail.embeddings.base import EmbeddingError, EmbeddingProvider

PROVIDER_NAMES = ("local", "openai", "azure_openai")

_cache: dict[str, EmbeddingProvider] = {}
_cache_lock = threading.Lock()


def get_provider(name: str | None = None) -> EmbeddingProvider:
    """The shared provider ``name`` (default: ``settings.ZAVA_EMBEDDING_PROVIDER``).

    Raises EmbeddingError(reason="not_configured") for an unknown name or a
    remote provider without credentials.
    """
    from django.conf import settings

    chosen = (name or settings.ZAVA_EMBEDDING_PROVIDER).strip().lower()
    if chosen not in PROVIDER_NAMES:
        raise EmbeddingError(
            f"Unknown embedding provider {chosen!r}; expected one of {', '.join(PROVIDER_NAMES)}.",
            reason="not_configured",
        )
    config = _config(chosen, settings)
    # The key hashes the whole configuration (secrets included) so a changed
    # setting builds a new provider, without keeping keys readable in the cache.
    key = hashlib.sha256(repr((chosen, sorted(config.items()))).encode()).hexdigest()
    provider = _cache.get(key)
    if provider is not None:
        return provider
    with _cache_lock:
        provider = _cache.get(key)
        if provider is None:
            provider = _BUILDERS[chosen](config)
            _cache[key] = provider
    return provider


def _config(name: str, settings: Any) -> dict[str, Any]:
    if name == "local":
        return {}
    remote = {
        "timeout": settings.ZAVA_EMBEDDING_TIMEOUT,
        "max_retries": settings.ZAVA_EMBEDDING_MAX_RETRIES,
    }
    if name == "openai":
        return remote | {
            "api_key": settings.OPENAI_API_KEY,
            "base_url": settings.OPENAI_BASE_URL or None,
            "model": settings.OPENAI_EMBEDDING_MODEL,
            "dimensions": settings.OPENAI_EMBEDDING_DIMENSIONS,
        }
    deployment = settings.AZURE_OPENAI_EMBEDDING_DEPLOYMENT
    return remote | {
        "endpoint": settings.AZURE_OPENAI_ENDPOINT,
        "api_key": settings.AZURE_OPENAI_API_KEY or None,
        "api_version": settings.AZURE_OPENAI_API_VERSION,
        "deployment": deployment,
        "model_name": settings.AZURE_OPENAI_EMBEDDING_MODEL or deployment,
        "dimensions": settings.AZURE_OPENAI_EMBEDDING_DIMENSIONS,
    }


def _build_local(config: dict[str, Any]) -> EmbeddingProvider:
    from retail.embeddings.local import LocalEmbeddingProvider

    return LocalEmbeddingProvider()


def _build_openai(config: dict[str, Any]) -> EmbeddingProvider:
    from retail.embeddings.openai_provider import OpenAIEmbeddingProvider

    return OpenAIEmbeddingProvider.for_openai(**config)


def _build_azure(config: dict[str, Any]) -> EmbeddingProvider:
    from retail.embeddings.openai_provider import OpenAIEmbeddingProvider, entra_id_token_provider

    if config["endpoint"] and not config["api_key"]:
        config = config | {"token_provider": entra_id_token_provider()}
    return OpenAIEmbeddingProvider.for_azure(**config)


_BUILDERS: dict[str, Callable[[dict[str, Any]], EmbeddingProvider]] = {
    "local": _build_local,
    "openai": _build_openai,
    "azure_openai": _build_azure,
}
