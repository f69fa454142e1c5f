"""Latency of semantic product search, end to end and by part, and embedding throughput.

Four measurements on the seeded, embedded database, all with the 78 queries of
``bench/data/search_eval.json``:

1. **the tool over HTTP**: ``semantic_search_products(query_description=...)`` (the
   tool's defaults: 20 rows, threshold 30) as JSON-RPC ``tools/call`` POSTs to the
   production server (gunicorn, ``zava/gunicorn_conf.py``) with a bearer token, using
   ``bench/loadgen.py`` (closed loop, keep-alive) and ``mcp_vs_sql.Server``, at each
   concurrency, in two modes, because each server process caches query vectors:

   * ``cold``: every call's text is new to the server, so every call embeds. The
     text is an eval query whose first word gap carries a unique run of spaces and
     tabs (a call counter in binary): the tokenizer splits on whitespace, so the
     model sees the very same tokens (and gives the same vector and answer), but
     the cache key differs.
   * ``warm``: the eval queries repeated verbatim. Each client cycles through the
     whole list on its keep-alive connection (which stays with one worker) during
     the warm-up, so every measured call hits that worker's cache.

2. **SQL alone**, in this process with precomputed query vectors:
   ``product_search.search_products_by_embedding`` (``retail.search_products_by_description``
   through the HNSW index) inside an open tenant context; the same plus opening
   and rolling back the tenant context; and the whole service
   ``search_products`` with a cached vector (what a warm tool call runs, minus HTTP,
   auth, JSON-RPC and the audit row).
3. **the query embedding alone**: ``provider.embed_one(query)``, local model.
4. **embedding throughput**: texts/s embedding the catalogue's own texts
   ("name. description", 449 of them) at each batch size (as ``embed_products`` does),
   with the CPU-sharing helpers of ``bench/embedding_throughput.py``.

The machine is shared: every phase reports how many cores other processes used
meanwhile ("others"); rerun when that is high.

    .venv/bin/python bench/search_latency.py                    # about 2 min
    .venv/bin/python bench/search_latency.py --concurrency 1 --duration 5

Writes ``var/bench/search_latency-<timestamp>.json`` (server log beside it).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.embedding_throughput import busy_jiffies, others_share
from bench.loadgen import (
    Target,
    Window,
    answer_json,
    check_shape,
    percentile,
    post_once,
    run_closed_loop,
)
from bench.mcp_vs_sql import (
    APP_NAME,
    BenchError,
    CpuMeter,
    Probe,
    Server,
    gunicorn_settings,
    meter_conninfo,
    postgres_pid,
    wait_for_idle,
)
from bench.search_quality import (
    EVAL_PATH,
    OUT_DIR,
    ROOT,
    SEATTLE_MANAGER,
    HelpFormatter,
    fmt,
    load_eval,
    setup_django,
    stamp,
    write_report,
)

TOOL = "semantic_search_products"
# The per-token rate limit stays on the path but cannot trigger (hundreds of calls a
# second with one token); the answer cache is off so that only the query-vector cache
# (the subject of the cold/warm modes) can answer from memory.
SERVER_OVERRIDES = {"ZAVA_RATE_LIMIT_PER_MINUTE": "1000000000", "ZAVA_CACHE_SECONDS": "0"}
# The tool's defaults, which is what an assistant usually sends.
DEFAULT_ROWS, DEFAULT_THRESHOLD = 20, 30.0


# --- Request bodies ----------------------------------------------------------------------


def _body(request_id: int, text: str) -> bytes:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "tools/call",
            "params": {"name": TOOL, "arguments": {"query_description": text}},
        },
        separators=(",", ":"),
    ).encode()


def uncached_variant(query: str, serial: int) -> str:
    """``query`` with ``serial`` written in spaces and tabs into its first word gap.

    Same tokens for the model, a different text for the server's cache.
    """
    first, _, rest = query.partition(" ")
    code = format(serial, "b").replace("0", " ").replace("1", "\t")
    return f"{first} {code} {rest}" if rest else f"{first} {code}"


def cold_bodies(queries: list[str]) -> Callable[[int], bytes]:
    """Bodies whose texts never repeat (one counter for the whole process)."""
    serial = itertools.count(1)
    return lambda request_id: _body(
        request_id, uncached_variant(queries[request_id % len(queries)], next(serial))
    )


def warm_bodies(queries: list[str]) -> Callable[[int], bytes]:
    """Each client (its own request ids 1, 2, ...) cycles through the queries."""
    return lambda request_id: _body(request_id, queries[request_id % len(queries)])


# --- Measuring in-process ----------------------------------------------------------------


def _summary(samples: list[float], meter: CpuMeter, first, seconds: float) -> dict[str, Any]:
    cores = meter.usage(first, meter.sample())
    return {
        "samples": len(samples),
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
        "per_s": round(len(samples) / sum(samples), 1),  # of the timed part, one thread
        "cores": cores,
    }


def time_loop(step: Callable[[int], float | None], seconds: float, meter: CpuMeter) -> dict:
    """Call ``step(i)`` until ``seconds`` pass; it returns its own sample or None to time it."""
    samples: list[float] = []
    first = meter.sample()
    start = clock = time.perf_counter()
    i = 0
    while clock - start < seconds:
        before = time.perf_counter()
        own = step(i)
        clock = time.perf_counter()
        samples.append(clock - before if own is None else own)
        i += 1
    return _summary(samples, meter, first, clock - start)


def measure_sql(queries: list[str], manager, seconds: float, meter: CpuMeter) -> dict[str, dict]:
    from retail.embeddings import get_provider
    from retail.services.product_embeddings import vector_literal
    from retail.services.product_search import search_products, search_products_by_embedding
    from retail.tenancy import run_as_tenant

    provider = get_provider()
    vectors = [vector_literal(v) for v in provider.embed(queries)]
    for query in queries:  # fill the service's cache: the "service" row is a warm call
        run_as_tenant(manager, lambda query=query: search_products(query=query))

    def nearest(i: int) -> None:
        search_products_by_embedding(
            vectors[i % len(vectors)],
            similarity_threshold=DEFAULT_THRESHOLD,
            max_rows=DEFAULT_ROWS,
        )

    def search_only(i: int) -> float:
        def timed() -> float:
            started = time.perf_counter()
            nearest(i)
            return time.perf_counter() - started

        return run_as_tenant(manager, timed)

    def with_context(i: int) -> None:
        run_as_tenant(manager, lambda: nearest(i))

    def service(i: int) -> None:
        run_as_tenant(manager, lambda: search_products(query=queries[i % len(queries)]))

    results = {}
    for key, step in (
        ("sql_search", search_only),
        ("sql_with_context", with_context),
        ("service_cached", service),
    ):
        time_loop(step, min(1.0, seconds), meter)  # warm-up
        results[key] = time_loop(step, seconds, meter)
        _progress(key, results[key])
    return results


def measure_embedding(queries: list[str], seconds: float, meter: CpuMeter) -> dict:
    from retail.embeddings import get_provider

    provider = get_provider()
    provider.embed(queries)  # load and warm up

    def embed(i: int) -> None:
        provider.embed_one(queries[i % len(queries)])

    result = time_loop(embed, seconds, meter)
    _progress("embed_query", result)
    return result


def measure_throughput(batch_sizes: list[int], repeats: int) -> dict:
    """texts/s on the catalogue's own texts, as embedding_throughput.py measures them."""
    from retail.embeddings import get_provider
    from retail.models import Product
    from retail.services.product_embeddings import product_text

    provider = get_provider()
    texts = [
        product_text(name, description)
        for name, description in Product.objects.order_by("product_id").values_list(
            "product_name", "product_description"
        )
    ]
    tokenizer = getattr(provider, "_tokenizer", None)
    mean_tokens = (
        statistics.fmean(len(e.ids) for e in tokenizer.encode_batch(texts)) if tokenizer else None
    )
    provider.embed(texts[:64])
    results = {"texts": len(texts), "mean_tokens": mean_tokens, "batches": {}}
    for size in batch_sizes:
        timings = []
        busy, times = busy_jiffies(), os.times()
        for _ in range(repeats):
            started = time.perf_counter()
            provider.embed(texts, batch_size=size)
            timings.append(time.perf_counter() - started)
        others = others_share(busy, times.user + times.system, sum(timings))
        row = {
            "median_texts_per_s": round(len(texts) / statistics.median(timings), 1),
            "best_texts_per_s": round(len(texts) / min(timings), 1),
            "others": others,
        }
        results["batches"][str(size)] = row
        print(
            f"  throughput batch {size:3d}: {row['median_texts_per_s']:6.1f} texts/s median, "
            f"{row['best_texts_per_s']:6.1f} best (others {others} of the machine)",
            flush=True,
        )
    return results


def _progress(label: str, row: dict) -> None:
    cores = row["cores"]
    print(
        f"  {label:<18} p50 {row['p50_ms']:8.2f} ms  p99 {row['p99_ms']:8.2f} ms  "
        f"({row['samples']} samples; cores: pg {cores['postgres']:.2f} bench "
        f"{cores['bench']:.2f} others {cores['others']:.2f})",
        flush=True,
    )


# --- Over HTTP ---------------------------------------------------------------------------


def validate(target: Target, manager, query: str) -> str:
    """The tool answers a cold and a warm text with the service's own rows."""
    from retail.services.product_search import search_products
    from retail.tenancy import run_as_tenant

    expected = run_as_tenant(manager, lambda: search_products(query=query))
    pid = expected.columns.index("product_id")
    want = [row[pid] for row in expected.rows]
    for text in (uncached_variant(query, 10**9), query):
        status, body = post_once(target, _body(1, text))
        problem = check_shape(body) if status == 200 else f"http {status}"
        if problem:
            raise BenchError(f"{TOOL} answered {problem}: {body[:500]!r}")
        answer = answer_json(json.loads(body)["result"])
        got = [row[answer["c"].index("product_id")] for row in answer["r"]] if answer["r"] else []
        if got != want:
            raise BenchError(f"{TOOL}({text!r}) returned {got}, the service {want}")
    return f"{query!r}: {len(want)} products, same as the service for cold and warm text"


def measure_http(args, queries: list[str], manager, when: str) -> tuple[dict, dict]:
    from retail.services.tokens import token_issue, token_revoke

    server_env = {**os.environ, **SERVER_OVERRIDES}
    server = Server(OUT_DIR / f"gunicorn-search-{when}.log", server_env)
    config = {"gunicorn": gunicorn_settings(server_env), "server_environment": SERVER_OVERRIDES}
    issued = token_issue(manager=manager, name="bench-search")
    runs: dict[str, dict] = {}
    meter: CpuMeter | None = None
    try:
        server.start()
        assert server.process is not None
        target = Target("127.0.0.1", server.port, issued.raw)
        server.wait_ready(target)
        print(
            f"gunicorn pid {server.process.pid} on 127.0.0.1:{server.port} "
            f"({config['gunicorn']['workers']} workers x {config['gunicorn']['threads']} "
            f"threads); log {server.log_path.relative_to(ROOT)}"
        )
        print("validated:", validate(target, manager.pk, queries[0]))
        print("server settings: " + ", ".join(f"{k}={v}" for k, v in SERVER_OVERRIDES.items()))
        meter = CpuMeter(server.process.pid, postgres_pid(), meter_conninfo())
        cold = cold_bodies(queries)
        cold_rate: dict[int, float] = {}
        for mode in args.modes:
            for c in args.concurrency:
                warmup = args.warmup
                if mode == "warm":
                    # Every client must go through the whole list once before the window.
                    rate = cold_rate.get(c)
                    per_client = rate / c if rate else 5.0
                    warmup = max(warmup, 1.5 * len(queries) / per_client + 1.0)
                window = Window.after(warmup, args.duration)
                probe = Probe(meter, window, None)
                bodies = cold if mode == "cold" else warm_bodies(queries)
                stats = run_closed_loop(target, bodies, c, window)
                cores, _ = probe.result()
                if mode == "cold":
                    cold_rate[c] = stats.throughput
                row = {
                    "mode": mode,
                    "concurrency": c,
                    "warmup_s": round(warmup, 1),
                    "calls_per_s": round(stats.throughput, 1),
                    "p50_ms": _ms(stats.percentile_ms(50)),
                    "p99_ms": _ms(stats.percentile_ms(99)),
                    "completed": stats.completed,
                    "errors": dict(stats.errors),
                    "error_sample": stats.error_sample,
                    "cores": cores,
                }
                runs[f"{mode}/c{c}"] = row
                print(
                    f"  HTTP {mode:<4} c={c:<2} {row['calls_per_s']:7.1f} calls/s  "
                    f"p50 {fmt(row['p50_ms'], 0, 2)} ms  p99 {fmt(row['p99_ms'], 0, 2)} ms  "
                    f"errors {stats.error_count}  [cores: server {cores['server']:.2f} "
                    f"pg {cores['postgres']:.2f} bench {cores['bench']:.2f} "
                    f"others {cores['others']:.2f}]",
                    flush=True,
                )
    finally:
        server.stop()
        if meter is not None:
            meter.close()
        with contextlib.suppress(Exception):
            token_revoke(token=issued.token)
    return runs, config


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- Report ------------------------------------------------------------------------------


def print_report(result: dict) -> None:
    print()
    print("Semantic search latency (ms; 'others' = cores used by other processes meanwhile)")
    header = f"{'what':<52} | {'p50':>8} {'p99':>8} | {'calls/s':>7} {'errors':>6} | {'others':>6}"
    print(header)
    print("-" * len(header))
    for key, row in result["http"].items():
        mode, c = key.split("/")
        label = (
            "HTTP tool call, cold (unique text: embeds)"
            if mode == "cold"
            else "HTTP tool call, warm (repeated: cached vector)"
        )
        print(
            f"{label + ', ' + c.replace('c', 'c='):<52} | {fmt(row['p50_ms'], 8, 2)} "
            f"{fmt(row['p99_ms'], 8, 2)} | {fmt(row['calls_per_s'], 7, 1)} "
            f"{sum(row['errors'].values()):>6} | {row['cores']['others']:6.2f}"
        )
    labels = {
        "service_cached": "service search_products, cached vector (in ctx)",
        "sql_with_context": "SQL + tenant context open/rollback",
        "sql_search": "SQL alone: search function via HNSW (in ctx)",
        "embed_query": "query embedding alone (local model, 1 text)",
    }
    rows = {
        **result.get("sql", {}),
        **({"embed_query": result["embedding"]} if "embedding" in result else {}),
    }
    for key, label in labels.items():
        if key in rows:
            row = rows[key]
            print(
                f"{label:<52} | {fmt(row['p50_ms'], 8, 2)} {fmt(row['p99_ms'], 8, 2)} | "
                f"{fmt(row['per_s'], 7, 1)} {'-':>6} | {row['cores']['others']:6.2f}"
            )
    busy = [key for key, row in {**result["http"], **rows}.items() if row["cores"]["others"] > 0.15]
    if busy:
        print(
            "  WARNING: other processes used > 0.15 cores during: "
            + ", ".join(busy)
            + ". Those figures are slower than an idle machine's; rerun when it is quiet."
        )
    if "throughput" in result:
        tp = result["throughput"]
        tokens = f", {tp['mean_tokens']:.0f} tokens on average" if tp["mean_tokens"] else ""
        print()
        print(f"Embedding throughput on the catalogue ({tp['texts']} texts{tokens}):")
        for size, row in tp["batches"].items():
            print(
                f"  batch {size:>3}: {row['median_texts_per_s']:6.1f} texts/s median, "
                f"{row['best_texts_per_s']:6.1f} best (others {row['others']})"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--eval", type=Path, default=EVAL_PATH, help="labelled queries (JSON)")
    parser.add_argument("--manager", default=SEATTLE_MANAGER, help="manager UUID or email")
    parser.add_argument("--concurrency", default="1,8", help="HTTP clients, comma-separated")
    parser.add_argument("--modes", default="cold,warm", help="HTTP modes: cold,warm")
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per HTTP run")
    parser.add_argument("--warmup", type=float, default=2.0, help="HTTP warm-up s (minimum)")
    parser.add_argument("--seconds", type=float, default=5.0, help="s per in-process timing")
    parser.add_argument("--batch-sizes", default="32,64", help="throughput batch sizes")
    parser.add_argument("--repeats", type=int, default=3, help="throughput passes per batch")
    parser.add_argument(
        "--skip", default="", help="comma-separated parts to skip: http,sql,embed,throughput"
    )
    parser.add_argument(
        "--wait-idle", type=float, default=30.0, help="s to wait for a quiet machine first"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default var/bench/...)")
    args = parser.parse_args(argv)
    try:
        args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
        args.batch_sizes = [int(b) for b in args.batch_sizes.split(",") if b.strip()]
    except ValueError:
        parser.error("--concurrency and --batch-sizes take integers, e.g. 1,8")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if set(args.modes) - {"cold", "warm"} or args.skip - {"http", "sql", "embed", "throughput"}:
        parser.error("--modes takes cold,warm; --skip takes http,sql,embed,throughput")
    if args.duration <= 0 or args.seconds <= 0 or min(args.concurrency, default=0) < 1:
        parser.error("durations and concurrency must be positive")
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    when = stamp()
    # Our backends and the server's carry this application_name, so that CpuMeter
    # counts other programs' backends as "others", not as PostgreSQL working for us.
    os.environ["PGAPPNAME"] = APP_NAME
    setup_django()
    from retail.services.tokens import manager_resolve

    manager = manager_resolve(args.manager)
    queries = [e.query for e in load_eval(args.eval)]
    busy = wait_for_idle(args.wait_idle)
    if busy > 0.2:
        print(f"WARNING: the machine is busy before the start ({busy:.2f} cores used).")
    meter = CpuMeter(-1, postgres_pid(), meter_conninfo())  # no server: pg, this process, others
    result: dict[str, Any] = {
        "config": {
            "tool_arguments": "query_description only (defaults: max_rows 20, threshold 30)",
            "queries": len(queries),
            "concurrency": args.concurrency,
            "modes": args.modes,
            "duration": args.duration,
            "seconds_in_process": args.seconds,
            "cpus": os.cpu_count(),
            "busy_before_start_cores": round(busy, 3),
        },
    }
    try:
        if "http" not in args.skip:
            print(f"HTTP: {', '.join(args.modes)} x c={args.concurrency}, {args.duration:g} s each")
            result["http"], server_config = measure_http(args, queries, manager, when)
            result["config"].update(server_config)
        else:
            result["http"] = {}
        if "sql" not in args.skip:
            print(f"SQL in a tenant context ({args.seconds:g} s each):")
            result["sql"] = measure_sql(queries, manager.pk, args.seconds, meter)
        if "embed" not in args.skip:
            print(f"query embedding ({args.seconds:g} s):")
            result["embedding"] = measure_embedding(queries, args.seconds, meter)
        if "throughput" not in args.skip:
            print(f"embedding throughput (batch sizes {args.batch_sizes}):")
            result["throughput"] = measure_throughput(args.batch_sizes, args.repeats)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        meter.close()
    print_report(result)
    write_report("search_latency", when, result, args.output)
    errors = sum(sum(row["errors"].values()) for row in result["http"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
