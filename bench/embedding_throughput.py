"""Texts per second of the local embedding model, per batch size.

Embeds 440 synthetic product descriptions of about 30 words (the size of the
catalogue's text) and prints the median of a few timed passes for each batch
size. Needs no Django and no database.

The machine is shared (2 cores), so each line also gives the best pass and the
CPU that other processes used meanwhile ("others"): a number taken while
others kept a core busy understates the model.

    .venv/bin/python bench/embedding_throughput.py [--batch-sizes 32 64 128] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retail.embeddings.local import LocalEmbeddingProvider

_PHRASES = [
    "cordless drill driver with lithium-ion battery",
    "brushless compact impact driver, keyless chuck",
    "interior latex paint, eggshell finish, one gallon",
    "exterior acrylic primer for wood and masonry",
    "angled sash brush for trim and ceiling edges",
    "nine inch roller frame and tray kit",
    "painter's tape and canvas drop cloth",
    "assorted sandpaper sheets, 120 to 220 grit",
    "oil-based wood stain in dark walnut",
    "clear silicone sealant for kitchen and bath",
    "fifty foot garden hose with brass fittings",
    "adjustable spray nozzle and oscillating sprinkler",
    "steel leaf rake and round point shovel",
    "bypass pruner with ergonomic grip",
    "aluminum step ladder rated 250 pounds",
    "deck screws, wall anchors and hex bolts",
    "socket set with ratchet and extension bar",
    "25 foot measuring tape and torpedo level",
    "circular saw with carbide-tipped blade",
    "durable, lightweight and weather resistant",
    "ideal for professionals and homeowners",
    "quick drying, low odor, easy to clean",
    "includes carrying case, charger and LED work light",
]


def make_texts(count: int = 440, words: int = 30, seed: int = 7) -> list[str]:
    """Deterministic product-like descriptions of about ``words`` words each."""
    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        target = rng.randint(words - 4, words + 4)
        parts: list[str] = []
        while sum(len(part.split()) for part in parts) < target:
            parts.append(rng.choice(_PHRASES))
        text = " ".join(", ".join(parts).split()[:target]).rstrip(",")
        texts.append(text[0].upper() + text[1:] + ".")
    return texts


def busy_jiffies() -> int | None:
    """CPU ticks spent busy by the whole machine so far (Linux), else None."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]) - idle


def others_share(busy_before: int | None, cpu_before: float, wall: float) -> str:
    """Share of the machine's CPU used by other processes during ``wall`` seconds."""
    busy_after = busy_jiffies()
    if busy_before is None or busy_after is None or wall <= 0:
        return "n/a"
    ticks = os.sysconf("SC_CLK_TCK")
    times = os.times()
    ours = times.user + times.system - cpu_before
    others = (busy_after - busy_before) / ticks - ours
    return f"{max(others, 0.0) / (wall * (os.cpu_count() or 1)):.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--texts", type=int, default=440)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="intra-op threads, 0 = ORT")
    parser.add_argument("--spin", action="store_true", help="let idle ORT threads spin")
    args = parser.parse_args()

    texts = make_texts(args.texts)
    provider = LocalEmbeddingProvider(intra_op_threads=args.threads, allow_spinning=args.spin)
    started = time.perf_counter()
    provider.load()
    print(f"model load (verify + session): {time.perf_counter() - started:.2f} s")
    tokens = [len(e.ids) for e in provider._tokenizer.encode_batch(texts)]
    print(f"{len(texts)} texts, {statistics.mean(tokens):.1f} tokens on average")
    provider.embed(texts[:64])  # warm-up: first runs allocate and pick kernels

    for batch_size in args.batch_sizes:
        timings = []
        busy, times = busy_jiffies(), os.times()
        cpu = times.user + times.system
        for _ in range(args.repeats):
            started = time.perf_counter()
            provider.embed(texts, batch_size=batch_size)
            timings.append(time.perf_counter() - started)
        others = others_share(busy, cpu, sum(timings))
        median, best = statistics.median(timings), min(timings)
        print(
            f"batch {batch_size:4d}: {len(texts) / median:7.1f} texts/s median, "
            f"{len(texts) / best:7.1f} best  ({median:.2f} s/pass; others {others})"
        )


if __name__ == "__main__":
    main()
