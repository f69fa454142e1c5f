"""Which shared cache for rate limits and cached answers: the database or files under var/?

Both are seen by every gunicorn worker (the database also by every host). For each
backend this measures, on a warm cache of ``--entries`` cached answers: one
rate-limit hit (``retail.rate_limits.count_cache_hit``: add + incr), an answer read and
an answer write, as median and p95 microseconds; then ``--processes`` processes
counting the same key at once, to show how many increments a non-atomic incr loses.

    .venv/bin/python manage.py migrate          # creates the zava_cache table
    .venv/bin/python bench/cache_backends.py
    .venv/bin/python bench/cache_backends.py --iterations 500 --entries 200
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")

ANSWER = "x" * 4_000  # about the size of a cached schema or query answer


def backend(kind: str, directory: str):
    """A fresh cache of ``kind`` sized like the server's."""
    from django.core.cache.backends.db import DatabaseCache
    from django.core.cache.backends.filebased import FileBasedCache

    options = {"OPTIONS": {"MAX_ENTRIES": 10_000}}
    if kind == "database":
        return DatabaseCache("zava_cache", options)
    return FileBasedCache(directory, options)


def timed(action: Callable[[int], object], iterations: int) -> tuple[float, float]:
    """Median and p95 of ``action(i)`` in microseconds."""
    samples = []
    for i in range(iterations):
        started = time.perf_counter()
        action(i)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def count_in_process(kind: str, directory: str, key: str, hits: int) -> None:
    import django

    django.setup()
    from retail.rate_limits import count_cache_hit

    counters = backend(kind, directory)
    for _ in range(hits):
        count_cache_hit(counters, key)


def measure(kind: str, directory: str, *, iterations: int, entries: int, processes: int) -> None:
    from retail.rate_limits import count_cache_hit

    cache = backend(kind, directory)
    cache.clear()
    for i in range(entries):
        cache.set(f"answer:warm:{i}", ANSWER, 300)
    limit = timed(lambda i: count_cache_hit(cache, "ratelimit:bench:1"), iterations)
    read = timed(lambda i: cache.get(f"answer:warm:{i % entries}"), iterations)
    write = timed(lambda i: cache.set(f"answer:new:{i}", ANSWER, 300), iterations)

    cache.delete("ratelimit:bench:race")
    per_process = iterations
    workers = [
        multiprocessing.get_context("spawn").Process(
            target=count_in_process, args=(kind, directory, "ratelimit:bench:race", per_process)
        )
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    counted = cache.get("ratelimit:bench:race")
    cache.clear()
    print(
        f"{kind:9} rate-limit hit {limit[0]:7.0f} / {limit[1]:7.0f} µs   "
        f"answer read {read[0]:6.0f} / {read[1]:6.0f} µs   "
        f"answer write {write[0]:6.0f} / {write[1]:6.0f} µs   "
        f"{processes} processes counted {counted} of {processes * per_process}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=1_000, help="operations per measure")
    parser.add_argument("--entries", type=int, default=1_000, help="answers in the warm cache")
    parser.add_argument("--processes", type=int, default=2, help="processes counting at once")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    directory = tempfile.mkdtemp(prefix="cache-bench-", dir=settings.VAR_DIR)
    try:
        print("median / p95 per operation")
        for kind in ("database", "file"):
            measure(
                kind,
                directory,
                iterations=args.iterations,
                entries=args.entries,
                processes=args.processes,
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
