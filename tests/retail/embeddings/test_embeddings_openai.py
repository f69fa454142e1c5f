"""OpenAI and Azure OpenAI providers against a local stand-in of the embeddings API.

The stand-in is a ``http.server`` on 127.0.0.1 with an ephemeral port; nothing
here reaches the internet. It records every request and answers with vectors
derived from each input's SHA-256, so expected results are computable here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from retail.embeddings import EmbeddingError
from retail.embeddings.openai_provider import OpenAIEmbeddingProvider

API_KEY = "sk-test-not-a-real-key-0123456789"
AZURE_KEY = "azure-test-key-0123456789"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


def fake_vector(text: str, dimensions: int) -> np.ndarray:
    """The stand-in's raw (not normalised) vector for ``text``."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return (np.random.default_rng(seed).standard_normal(dimensions) * 3).astype(np.float32)


def expected(texts: list[str], dimensions: int = 1536) -> np.ndarray:
    rows = np.stack([fake_vector(text, dimensions) for text in texts])
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class StandIn:
    """The server's state: what it saw, and what it should answer next."""

    base: str = ""
    requests: list[Recorded] = field(default_factory=list)
    #: Answers for the next requests, consumed in order: (status, headers, body).
    #: When empty, requests succeed.
    script: list[tuple[int, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    #: Seconds to wait before answering (for timeouts).
    delay: float = 0.0
    #: Vector size to answer with regardless of the request (for bad answers).
    force_dimensions: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _make_handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            url = urlsplit(self.path)
            with state.lock:
                state.requests.append(
                    Recorded(
                        "POST",
                        url.path,
                        parse_qs(url.query),
                        {name.lower(): value for name, value in self.headers.items()},
                        body,
                    )
                )
                scripted = state.script.pop(0) if state.script else None
            if state.delay:
                time.sleep(state.delay)
            if scripted is not None:
                self._send(*scripted)
                return
            if not url.path.endswith("/embeddings"):
                self._send(404, {}, {"error": {"message": "no such route", "code": "404"}})
                return
            dimensions = state.force_dimensions or body.get("dimensions") or 1536
            as_base64 = body.get("encoding_format") == "base64"
            data = []
            for index, text in enumerate(body["input"]):
                vector = fake_vector(text, dimensions)
                encoded = (
                    base64.b64encode(vector.astype("<f4").tobytes()).decode()
                    if as_base64
                    else vector.tolist()
                )
                data.append({"object": "embedding", "index": index, "embedding": encoded})
            data.reverse()  # clients must order by "index", not by position
            count = len(body["input"])
            self._send(
                200,
                {"x-request-id": f"req-{len(state.requests)}"},
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": count, "total_tokens": count},
                },
            )

    return Handler


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; requests to the stand-in must go direct."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def standin() -> Iterator[StandIn]:
    state = StandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    server.daemon_threads = True
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def openai_provider(standin: StandIn, **overrides: Any) -> OpenAIEmbeddingProvider:
    options: dict[str, Any] = {
        "api_key": API_KEY,
        "base_url": f"{standin.base}/v1",
        "timeout": 5.0,
        "max_retries": 0,
    }
    options.update(overrides)
    return OpenAIEmbeddingProvider.for_openai(**options)


def azure_provider(standin: StandIn, **overrides: Any) -> OpenAIEmbeddingProvider:
    options: dict[str, Any] = {
        "endpoint": standin.base,
        "deployment": "emb-small",
        "api_key": AZURE_KEY,
        "model_name": "text-embedding-3-small",
        "timeout": 5.0,
        "max_retries": 0,
    }
    options.update(overrides)
    return OpenAIEmbeddingProvider.for_azure(**options)


# -- OpenAI --------------------------------------------------------------------------


def test_openai_request_shape_and_vectors(standin: StandIn) -> None:
    provider = openai_provider(standin)
    vectors = provider.embed(["cordless drill", "garden hose"])

    assert len(standin.requests) == 1
    request = standin.requests[0]
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "api-key" not in request.headers
    assert request.body["model"] == "text-embedding-3-small"
    assert request.body["input"] == ["cordless drill", "garden hose"]
    assert "dimensions" not in request.body  # only sent when configured

    assert vectors.shape == (2, 1536)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors, expected(["cordless drill", "garden hose"]), atol=1e-6)
    assert (provider.name, provider.model_name, provider.dimensions) == (
        "openai",
        "text-embedding-3-small",
        1536,
    )


def test_openai_embed_one(standin: StandIn) -> None:
    vector = openai_provider(standin).embed_one("ladder")
    assert vector.shape == (1536,)
    np.testing.assert_allclose(vector, expected(["ladder"])[0], atol=1e-6)


def test_configured_dimensions_are_sent(standin: StandIn) -> None:
    provider = openai_provider(standin, dimensions=256)
    vectors = provider.embed(["drill"])
    assert standin.requests[0].body["dimensions"] == 256
    assert provider.dimensions == 256
    assert vectors.shape == (1, 256)


def test_batching_and_order(standin: StandIn) -> None:
    texts = [f"product {i}" for i in range(1100)]
    vectors = openai_provider(standin).embed(texts, batch_size=512)

    assert [len(r.body["input"]) for r in standin.requests] == [512, 512, 76]
    assert [text for r in standin.requests for text in r.body["input"]] == texts
    np.testing.assert_allclose(vectors, expected(texts), atol=1e-6)


def test_default_batch_is_512(standin: StandIn) -> None:
    openai_provider(standin).embed([f"p{i}" for i in range(1100)])
    assert [len(r.body["input"]) for r in standin.requests] == [512, 512, 76]


def test_batches_also_bounded_by_characters(standin: StandIn) -> None:
    provider = OpenAIEmbeddingProvider(
        openai_provider(standin)._client,
        name="openai",
        model="text-embedding-3-small",
        max_chars_per_request=100,
    )
    provider.embed(["x" * 60, "y" * 60, "z" * 30, "w" * 500])
    assert [len(r.body["input"]) for r in standin.requests] == [1, 2, 1]


def test_empty_list_makes_no_request(standin: StandIn) -> None:
    vectors = openai_provider(standin).embed([])
    assert vectors.shape == (0, 1536)
    assert vectors.dtype == np.float32
    assert standin.requests == []


def test_empty_string_is_sent_as_a_space(standin: StandIn) -> None:
    vectors = openai_provider(standin).embed(["", "drill"])
    assert standin.requests[0].body["input"] == [" ", "drill"]
    np.testing.assert_allclose(vectors, expected([" ", "drill"]), atol=1e-6)


def test_retries_a_429_then_succeeds(standin: StandIn) -> None:
    standin.script.append(
        (429, {"Retry-After": "0"}, {"error": {"message": "slow down", "code": "rate_limit"}})
    )
    vectors = openai_provider(standin, max_retries=2).embed(["drill"])

    assert len(standin.requests) == 2
    assert standin.requests[0].body == standin.requests[1].body
    np.testing.assert_allclose(vectors, expected(["drill"]), atol=1e-6)


def test_persistent_500_becomes_a_clean_error(standin: StandIn) -> None:
    standin.script.extend([(500, {}, {"error": {"message": "boom"}})] * 5)
    started = time.monotonic()
    with pytest.raises(EmbeddingError) as caught:
        openai_provider(standin, max_retries=1).embed(["drill"])
    assert time.monotonic() - started < 5  # one SDK backoff (~0.5 s), no more
    assert len(standin.requests) == 2  # first try + one retry
    error = caught.value
    assert error.reason == "upstream"
    assert error.as_dict()["code"] == "unavailable"
    assert "boom" not in error.message
    assert API_KEY not in str(error.as_dict())


def test_persistent_429_reports_rate_limiting(standin: StandIn) -> None:
    standin.script.extend([(429, {"Retry-After": "0"}, {"error": {"message": "no"}})] * 3)
    with pytest.raises(EmbeddingError) as caught:
        openai_provider(standin).embed(["drill"])
    assert caught.value.reason == "rate_limited"
    assert len(standin.requests) == 1


def test_bad_key_never_leaks(standin: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    body = {"error": {"message": f"Incorrect API key provided: {API_KEY}", "code": "bad_key"}}
    standin.script.append((401, {}, body))
    with (
        caplog.at_level(logging.DEBUG, logger="retail.embeddings"),
        pytest.raises(EmbeddingError) as caught,
    ):
        openai_provider(standin, max_retries=3).embed(["drill"])
    assert caught.value.reason == "auth"
    assert len(standin.requests) == 1  # 401 is not retried
    assert API_KEY not in str(caught.value.as_dict())
    assert API_KEY not in caplog.text


def test_bad_request_is_rejected(standin: StandIn) -> None:
    standin.script.append((400, {}, {"error": {"message": "input too long"}}))
    with pytest.raises(EmbeddingError) as caught:
        openai_provider(standin).embed(["drill"])
    assert caught.value.reason == "rejected"


def test_unreachable_server(standin: StandIn) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAIEmbeddingProvider.for_openai(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2
    )
    with pytest.raises(EmbeddingError) as caught:
        provider.embed(["drill"])
    assert caught.value.reason == "connection"


def test_timeout(standin: StandIn) -> None:
    standin.delay = 1.0
    with pytest.raises(EmbeddingError) as caught:
        openai_provider(standin, timeout=0.2).embed(["drill"])
    assert caught.value.reason == "timeout"


def test_wrong_vector_size_is_refused(standin: StandIn) -> None:
    standin.force_dimensions = 8
    with pytest.raises(EmbeddingError) as caught:
        openai_provider(standin).embed(["drill"])
    assert caught.value.reason == "bad_response"


def test_missing_key_is_not_configured() -> None:
    with pytest.raises(EmbeddingError) as caught:
        OpenAIEmbeddingProvider.for_openai(api_key="")
    assert caught.value.reason == "not_configured"


def test_unknown_model_needs_dimensions() -> None:
    with pytest.raises(EmbeddingError) as caught:
        OpenAIEmbeddingProvider.for_openai(api_key=API_KEY, model="my-own-model")
    assert caught.value.reason == "not_configured"
    provider = OpenAIEmbeddingProvider.for_openai(
        api_key=API_KEY, model="my-own-model", dimensions=768
    )
    assert provider.dimensions == 768


# -- Azure OpenAI --------------------------------------------------------------------


def test_azure_request_shape(standin: StandIn) -> None:
    provider = azure_provider(standin)
    vectors = provider.embed(["cordless drill", "garden hose"])

    request = standin.requests[0]
    assert request.path == "/openai/deployments/emb-small/embeddings"
    assert request.query == {"api-version": ["2024-10-21"]}
    assert request.headers["api-key"] == AZURE_KEY
    assert AZURE_KEY not in request.headers.get("authorization", "")
    assert request.body["model"] == "emb-small"
    assert request.body["input"] == ["cordless drill", "garden hose"]
    np.testing.assert_allclose(vectors, expected(["cordless drill", "garden hose"]), atol=1e-6)
    assert (provider.name, provider.model_name, provider.dimensions) == (
        "azure_openai",
        "text-embedding-3-small",
        1536,
    )


def test_azure_batching_and_retry(standin: StandIn) -> None:
    standin.script.append((429, {"Retry-After": "0"}, {"error": {"message": "busy"}}))
    texts = [f"item {i}" for i in range(5)]
    vectors = azure_provider(standin, max_retries=1).embed(texts, batch_size=2)
    # 3 batches, the first one tried twice.
    assert [len(r.body["input"]) for r in standin.requests] == [2, 2, 2, 1]
    np.testing.assert_allclose(vectors, expected(texts), atol=1e-6)


def test_azure_entra_id_token(standin: StandIn) -> None:
    provider = azure_provider(standin, api_key=None, token_provider=lambda: "entra-token")
    provider.embed(["drill"])
    request = standin.requests[0]
    assert request.headers["authorization"] == "Bearer entra-token"
    assert "api-key" not in request.headers


def test_azure_token_failure_is_an_auth_error(standin: StandIn) -> None:
    def broken() -> str:
        raise RuntimeError("no managed identity here")

    provider = azure_provider(standin, api_key=None, token_provider=broken)
    with pytest.raises(EmbeddingError) as caught:
        provider.embed(["drill"])
    assert caught.value.reason == "auth"
    assert standin.requests == []


def test_azure_needs_a_credential(standin: StandIn) -> None:
    with pytest.raises(EmbeddingError) as caught:
        azure_provider(standin, api_key=None)
    assert caught.value.reason == "not_configured"


def test_azure_unknown_deployment(standin: StandIn) -> None:
    standin.script.append((404, {}, {"error": {"code": "DeploymentNotFound", "message": "x"}}))
    with pytest.raises(EmbeddingError) as caught:
        azure_provider(standin).embed(["drill"])
    assert caught.value.reason == "not_configured"
