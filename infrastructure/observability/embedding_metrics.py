"""Counting and timing embedding provider calls, whichever provider makes them.

``EmbeddingProvider.__init_subclass__`` wraps each concrete ``embed`` with
:func:`instrumented`, so a new provider is measured without remembering to.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any


def instrumented(embed: Callable[..., Any]) -> Callable[..., Any]:
    """``embed`` that also feeds zava_embedding_calls / _texts / _duration_seconds."""
    if getattr(embed, "zava_instrumented", False):
        return embed

    @functools.wraps(embed)
    def measured(self: Any, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        from infrastructure.observability import metrics  # prometheus-client only once used

        provider = str(getattr(self, "name", type(self).__name__))
        started = time.perf_counter()
        outcome = "error"
        try:
            result = embed(self, texts, *args, **kwargs)
            outcome = "ok"
            metrics.EMBEDDING_TEXTS.labels(provider=provider).inc(len(result))
            return result
        finally:
            metrics.EMBEDDING_CALLS.labels(provider=provider, outcome=outcome).inc()
            metrics.EMBEDDING_LATENCY.labels(provider=provider).observe(
                time.perf_counter() - started
            )

    measured.zava_instrumented = True  # type: ignore[attr-defined]
    return measured
