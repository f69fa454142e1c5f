"""Choose and cache the embedding provider from Django settings.

Settings are read when ``get_provider`` is called, not at import, so the
module imports before settings are configured and tests can override them.
One provider per distinct configuration is kept for the life of the process:
the local model is loaded once and shared by every thread.

Settings (all optional, ``getattr`` with defaults; empty strings count as unset):

- ``ZAVA_EMBEDDING_PROVIDER``: "local" (default), "openai" or "azure_openai".
- ``ZAVA_EMBEDDING_TIMEOUT`` (seconds, 30) and ``ZAVA_EMBEDDING_MAX_RETRIES`` (3)
  for the remote providers.
- OpenAI: ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_EMBEDDING_MODEL``
  ("text-embedding-3-small"), ``OPENAI_EMBEDDING_DIMENSIONS``.
- Azure: ``AZURE_OPENAI_ENDPOINT``, ``AZURE_OPENAI_API_KEY`` (without it,
  Entra ID through azure-identity), ``AZURE_OPENAI_API_VERSION``
  ("2024-10-21"), ``AZURE_OPENAI_EMBEDDING_DEPLOYMENT``
  ("text-embedding-3-small"), ``AZURE_OPENAI_EMBEDDING_MODEL`` (recorded model
  name, default the deployment), ``AZURE_OPENAI_EMBEDDING_DIMENSIONS``.
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

    chosen = (name or _setting(settings, "ZAVA_EMBEDDING_PROVIDER", "local")).strip().lower()
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


def clear_provider_cache() -> None:
    """Forget every cached provider (tests; after changing settings at run time)."""
    with _cache_lock:
        _cache.clear()


def _setting(settings: Any, name: str, default: Any = None) -> Any:
    value = getattr(settings, name, default)
    return default if value is None or value == "" else value


def _number(settings: Any, name: str, default: Any, kind: type[int] | type[float]) -> Any:
    """A numeric setting, or None when unset and ``default`` is None."""
    value = _setting(settings, name, default)
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(
            f"The {name} setting must be a number.", reason="not_configured"
        ) from exc


def _config(name: str, settings: Any) -> dict[str, Any]:
    if name == "local":
        return {}
    remote = {
        "timeout": _number(settings, "ZAVA_EMBEDDING_TIMEOUT", 30.0, float),
        "max_retries": _number(settings, "ZAVA_EMBEDDING_MAX_RETRIES", 3, int),
    }
    if name == "openai":
        return remote | {
            "api_key": _setting(settings, "OPENAI_API_KEY"),
            "base_url": _setting(settings, "OPENAI_BASE_URL"),
            "model": _setting(settings, "OPENAI_EMBEDDING_MODEL", "text-embedding-3-small"),
            "dimensions": _number(settings, "OPENAI_EMBEDDING_DIMENSIONS", None, int),
        }
    deployment = _setting(settings, "AZURE_OPENAI_EMBEDDING_DEPLOYMENT", "text-embedding-3-small")
    return remote | {
        "endpoint": _setting(settings, "AZURE_OPENAI_ENDPOINT"),
        "api_key": _setting(settings, "AZURE_OPENAI_API_KEY"),
        "api_version": _setting(settings, "AZURE_OPENAI_API_VERSION", "2024-10-21"),
        "deployment": deployment,
        "model_name": _setting(settings, "AZURE_OPENAI_EMBEDDING_MODEL", deployment),
        "dimensions": _number(settings, "AZURE_OPENAI_EMBEDDING_DIMENSIONS", None, int),
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
