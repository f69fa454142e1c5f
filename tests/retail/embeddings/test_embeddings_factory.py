"""get_provider() reads settings when called and shares one provider per configuration.

Builds providers only: no model run, no HTTP, no database.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings

from retail.embeddings import EmbeddingError, get_provider
from retail.embeddings.local import LocalEmbeddingProvider
from retail.embeddings.openai_provider import OpenAIEmbeddingProvider

#: Every setting the factory reads, as zava/settings.py sets it from an empty
#: environment, so the project's own values (or a developer's environment) cannot
#: leak into these tests. tests/zava/test_settings.py reads them from the environment.
DEFAULTS = {
    "ZAVA_EMBEDDING_PROVIDER": "local",
    "ZAVA_EMBEDDING_TIMEOUT": 30.0,
    "ZAVA_EMBEDDING_MAX_RETRIES": 3,
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "",
    "OPENAI_EMBEDDING_MODEL": "text-embedding-3-small",
    "OPENAI_EMBEDDING_DIMENSIONS": None,
    "AZURE_OPENAI_ENDPOINT": "",
    "AZURE_OPENAI_API_KEY": "",
    "AZURE_OPENAI_API_VERSION": "2024-10-21",
    "AZURE_OPENAI_EMBEDDING_DEPLOYMENT": "text-embedding-3-small",
    "AZURE_OPENAI_EMBEDDING_MODEL": "",
    "AZURE_OPENAI_EMBEDDING_DIMENSIONS": None,
}


@pytest.fixture(autouse=True)
def _isolated() -> Iterator[None]:
    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings.configure()  # running without the project's settings (-p no:django)
    with override_settings(**DEFAULTS):
        yield


def test_default_is_the_shared_local_model() -> None:
    provider = get_provider()
    assert isinstance(provider, LocalEmbeddingProvider)
    assert (provider.name, provider.model_name, provider.dimensions) == (
        "local",
        "sentence-transformers/all-MiniLM-L6-v2",
        384,
    )
    assert get_provider() is provider
    assert get_provider("local") is provider


def test_setting_chooses_the_provider_at_call_time() -> None:
    with override_settings(ZAVA_EMBEDDING_PROVIDER="openai", OPENAI_API_KEY="sk-a"):
        assert get_provider().name == "openai"
    assert get_provider().name == "local"


def test_openai_from_settings() -> None:
    with override_settings(
        OPENAI_API_KEY="sk-a",
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        OPENAI_EMBEDDING_DIMENSIONS=512,
        ZAVA_EMBEDDING_TIMEOUT=7.5,
        ZAVA_EMBEDDING_MAX_RETRIES=1,
    ):
        provider = get_provider("openai")
        assert isinstance(provider, OpenAIEmbeddingProvider)
        assert (provider.model_name, provider.dimensions) == ("text-embedding-3-small", 512)
        client = provider._client
        assert str(client.base_url).rstrip("/") == "http://127.0.0.1:9/v1"
        assert client.max_retries == 1
        assert client.timeout == 7.5
        assert get_provider("openai") is provider


def test_changed_settings_build_a_new_provider() -> None:
    with override_settings(OPENAI_API_KEY="sk-a"):
        first = get_provider("openai")
    with override_settings(OPENAI_API_KEY="sk-b"):
        second = get_provider("openai")
    assert first is not second


def test_openai_without_key_is_not_configured() -> None:
    with pytest.raises(EmbeddingError) as caught:
        get_provider("openai")
    assert caught.value.reason == "not_configured"


def test_azure_with_key_from_settings() -> None:
    with override_settings(
        AZURE_OPENAI_ENDPOINT="http://127.0.0.1:9",
        AZURE_OPENAI_API_KEY="k",
        AZURE_OPENAI_EMBEDDING_DEPLOYMENT="prod-embeddings",
        AZURE_OPENAI_EMBEDDING_MODEL="text-embedding-3-small",
    ):
        provider = get_provider("azure_openai")
    assert (provider.name, provider.model_name, provider.dimensions) == (
        "azure_openai",
        "text-embedding-3-small",
        1536,
    )
    assert str(provider._client.base_url).rstrip("/") == "http://127.0.0.1:9/openai"


def test_azure_without_key_or_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import now fails
    with (
        override_settings(AZURE_OPENAI_ENDPOINT="http://127.0.0.1:9"),
        pytest.raises(EmbeddingError) as caught,
    ):
        get_provider("azure_openai")
    assert caught.value.reason == "not_configured"
    assert "azure-identity" in caught.value.message


def test_azure_without_key_uses_entra_id(monkeypatch: pytest.MonkeyPatch) -> None:
    identity = types.ModuleType("azure.identity")
    scopes: list[str] = []

    class DefaultAzureCredential:
        pass

    def get_bearer_token_provider(credential: object, scope: str):
        assert isinstance(credential, DefaultAzureCredential)
        scopes.append(scope)
        return lambda: "token"

    identity.DefaultAzureCredential = DefaultAzureCredential  # type: ignore[attr-defined]
    identity.get_bearer_token_provider = get_bearer_token_provider  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure", types.ModuleType("azure"))
    monkeypatch.setitem(sys.modules, "azure.identity", identity)
    with override_settings(AZURE_OPENAI_ENDPOINT="http://127.0.0.1:9"):
        provider = get_provider("azure_openai")
    assert provider.name == "azure_openai"
    assert provider.model_name == "text-embedding-3-small"
    assert scopes == ["https://cognitiveservices.azure.com/.default"]


def test_unknown_provider() -> None:
    with pytest.raises(EmbeddingError) as caught:
        get_provider("word2vec")
    assert caught.value.reason == "not_configured"
    with override_settings(ZAVA_EMBEDDING_PROVIDER="nope"), pytest.raises(EmbeddingError):
        get_provider()


def test_concurrent_callers_share_one_instance() -> None:
    seen: list[object] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        seen.append(get_provider())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(seen) == 8
    assert all(provider is seen[0] for provider in seen)
