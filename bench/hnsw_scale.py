"""HNSW against exact search at 100,000 synthetic product vectors, in a scratch database.

The catalogue has 449 products, where any index is moot; this asks what the HNSW
index (m=16, ef_construction=64, cosine, as migration 0004 builds it) buys and costs
at a catalogue two hundred times larger.

1. **Data.** The 449 real product vectors (all-MiniLM-L6-v2, read from the main
   database) plus synthetic ones up to ``--rows``: each is a mix of a random real
   product and another of its category (weight of the first 0.5-1), plus noise drawn
   from the real vectors' own covariance (so it stays in the subspace real
   embeddings occupy, not isotropic), of norm 0.5-1, then L2-normalised. Query
   vectors: the 78 eval queries embedded by the local model, plus perturbed copies of
   them (noise of norm 0.2-0.5) up to ``--queries``. The bench prints nearest-neighbour
   similarities of the real and synthetic sets so the two can be compared.
2. **Database.** Creates ``--database`` (default ``zava_bench_hnsw``) as the owner
   role from template1 (which has pgvector), loads ``items(id, embedding vector(384))``
   with binary COPY, builds the HNSW index (timed, with ``maintenance_work_mem`` set
   for the session; progress from ``pg_stat_progress_create_index``), and drops the
   database at the end (``--keep`` keeps it).
3. **Queries.** ``SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 20``, one at a
   time on one connection: exact (``enable_indexscan = off``: a sequential scan, in
   parallel if the planner wants) and HNSW at each ``hnsw.ef_search``. Latency p50/p99,
   queries/s, and recall@20 of HNSW against the exact answer (|HNSW ∩ exact| / 20).
   The exact SQL answers are also checked against numpy's.

    .venv/bin/python bench/hnsw_scale.py                    # about 2-3 min on 2 cores
    .venv/bin/python bench/hnsw_scale.py --rows 20000 --ef 40,100,200,400

Writes ``var/bench/hnsw_scale-<timestamp>.json``. Needs no Django app setup: only the
settings, for the embedded server's address.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench.loadgen import percentile
from bench.search_quality import EVAL_PATH, HelpFormatter, load_eval, stamp, write_report

DIMENSIONS = 384
INDEX = "items_hnsw"


# --- Data --------------------------------------------------------------------------------


def _conninfo(dbname: str) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    from django.conf import settings

    db = settings.DATABASES["default"]
    info = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": dbname}
    if db.get("PASSWORD"):
        info["password"] = db["PASSWORD"]
    return {k: v for k, v in info.items() if v not in (None, "")}


def _main_database() -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    from django.conf import settings

    return settings.DATABASES["default"]["NAME"]


def real_vectors() -> tuple[np.ndarray, np.ndarray]:
    """The stored product vectors and their category ids, from the main database."""
    import psycopg
    from pgvector.psycopg import register_vector

    with psycopg.connect(**_conninfo(_main_database())) as conn:
        register_vector(conn)
        rows = conn.execute(
            "SELECT p.category_id, e.description_embedding "
            "FROM retail.product_description_embeddings e "
            "JOIN retail.products p ON p.product_id = e.product_id ORDER BY e.product_id"
        ).fetchall()
    if not rows:
        raise SystemExit("No product embeddings in the main database: run embed_products.")
    vectors = np.array([v.to_numpy() for _, v in rows], dtype=np.float32)
    if vectors.shape[1] != DIMENSIONS:
        raise SystemExit(f"stored vectors have {vectors.shape[1]} dimensions, not {DIMENSIONS}")
    return _normalise(vectors), np.array([c for c, _ in rows])


def _normalise(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def _covariance_noise(rng: np.random.Generator, centred: np.ndarray, n: int) -> np.ndarray:
    """n unit directions drawn with the covariance of the real vectors."""
    mix = rng.standard_normal((n, centred.shape[0]), dtype=np.float32)
    return _normalise(mix @ centred)


def synthetic_corpus(
    real: np.ndarray, categories: np.ndarray, rows: int, rng: np.random.Generator
) -> np.ndarray:
    """The real vectors first, then mixes of two products of one category plus noise."""
    extra = max(rows - len(real), 0)
    centred = real - real.mean(axis=0)
    by_category = {c: np.flatnonzero(categories == c) for c in np.unique(categories)}
    parts = [real[:rows]]
    for start in range(0, extra, 20_000):
        n = min(20_000, extra - start)
        first = rng.integers(0, len(real), n)
        second = np.array([rng.choice(by_category[categories[i]]) for i in first])
        weight = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
        noise = rng.uniform(0.5, 1.0, (n, 1)).astype(np.float32)
        mixed = weight * real[first] + (1 - weight) * real[second]
        parts.append(_normalise(mixed + noise * _covariance_noise(rng, centred, n)))
    return np.vstack(parts)


def query_vectors(real: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """The eval queries embedded, then perturbed copies of them up to ``count``."""
    from retail.embeddings import get_provider

    evals = [e.query for e in load_eval(EVAL_PATH)]
    base = get_provider("local").embed(evals)
    extra = max(count - len(base), 0)
    picks = rng.integers(0, len(base), extra)
    noise = rng.uniform(0.2, 0.5, (extra, 1)).astype(np.float32)
    perturbed = _normalise(
        base[picks] + noise * _covariance_noise(rng, real - real.mean(axis=0), extra)
    )
    return np.vstack([base, perturbed])[:count]


def top_k(queries: np.ndarray, corpus: np.ndarray, k: int) -> np.ndarray:
    """Exact top k ids (row numbers + 1) by cosine, in numpy."""
    result = []
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ corpus.T
        part = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, part, axis=1).argsort(axis=1)[:, ::-1]
        result.append(np.take_along_axis(part, order, axis=1) + 1)
    return np.vstack(result)


def neighbour_stats(corpus: np.ndarray, queries: np.ndarray, k: int, sample: int = 500) -> dict:
    """Median cosine to the nearest other item (a sample of items), and of queries' top 1/k."""
    rng = np.random.default_rng(0)
    picks = rng.choice(len(corpus), min(sample, len(corpus)), replace=False)
    scores = corpus[picks] @ corpus.T
    scores[np.arange(len(picks)), picks] = -1
    q_scores = np.sort(queries @ corpus.T, axis=1)
    return {
        "item_nn_cos_median": round(float(np.median(scores.max(axis=1))), 3),
        "query_top1_cos_median": round(float(np.median(q_scores[:, -1])), 3),
        f"query_top{k}_cos_median": round(float(np.median(q_scores[:, -k])), 3),
    }


# --- Database ----------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(name: str, keep: bool):
    import psycopg
    from psycopg import sql

    if not name.startswith("zava_bench"):
        raise SystemExit("--database must start with 'zava_bench' (it is dropped at the end)")
    admin = _conninfo("postgres")
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template1").format(sql.Identifier(name)))
    print(f"created database {name}")
    try:
        yield _conninfo(name)
    finally:
        if keep:
            print(f"kept database {name} (--keep); drop it with DROP DATABASE {name}")
        else:
            with psycopg.connect(**admin, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
            print(f"dropped database {name}")


def load(conn, corpus: np.ndarray) -> float:
    from pgvector.psycopg import register_vector

    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    conn.execute(f"CREATE TABLE items (id integer PRIMARY KEY, embedding vector({DIMENSIONS}))")
    started = time.perf_counter()
    copy_sql = "COPY items (id, embedding) FROM STDIN WITH (FORMAT BINARY)"
    with conn.cursor() as cursor, cursor.copy(copy_sql) as copy:
        copy.set_types(["int4", "vector"])
        for number, vector in enumerate(corpus, 1):
            copy.write_row((number, vector))
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE items")
    return time.perf_counter() - started


class BuildProgress:
    """Prints pg_stat_progress_create_index every few seconds from a second connection."""

    def __init__(self, conninfo: dict[str, Any], interval: float = 5.0) -> None:
        self.conninfo, self.interval = conninfo, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> BuildProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psycopg

        started = time.perf_counter()
        with contextlib.suppress(psycopg.Error), psycopg.connect(**self.conninfo) as conn:
            conn.autocommit = True
            while not self._stop.wait(self.interval):
                row = conn.execute(
                    "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index"
                ).fetchone()
                if row:
                    phase, done, total = row
                    share = f" {done:,} tuples" if done else ""
                    share += f" of {total:,}" if done and total else ""
                    print(f"  {time.perf_counter() - started:5.0f} s  {phase}{share}", flush=True)


def build_index(conn, conninfo: dict, m: int, ef_construction: int, work_mem: str) -> dict:
    notices: list[str] = []
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary or ""))
    conn.execute("SELECT set_config('maintenance_work_mem', %s, false)", [work_mem])
    workers = conn.execute("SHOW max_parallel_maintenance_workers").fetchone()[0]
    print(
        f"building HNSW (m={m}, ef_construction={ef_construction}, vector_cosine_ops; "
        f"maintenance_work_mem {work_mem}, max_parallel_maintenance_workers {workers})",
        flush=True,
    )
    started = time.perf_counter()
    with BuildProgress(conninfo):
        conn.execute(
            f"CREATE INDEX {INDEX} ON items USING hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})"
        )
    seconds = time.perf_counter() - started
    sizes = conn.execute(
        "SELECT pg_relation_size('items'), pg_total_relation_size('items'), "
        f"pg_relation_size('{INDEX}')"
    ).fetchone()
    return {
        "seconds": round(seconds, 2),
        "maintenance_work_mem": work_mem,
        "max_parallel_maintenance_workers": int(workers),
        "notices": notices,
        "table_mb": round(sizes[0] / 2**20, 1),
        "index_mb": round(sizes[2] / 2**20, 1),
    }


def _search(k: int) -> str:
    return f"SELECT id FROM items ORDER BY embedding <=> %s LIMIT {int(k)}"


def plan(conn, query: np.ndarray, k: int) -> str:
    rows = conn.execute("EXPLAIN (COSTS OFF) " + _search(k), [query]).fetchall()
    text = " / ".join(r[0].strip() for r in rows)
    return re.sub(r"'\[[^']*\]'::vector", "$1", text)


def run_queries(conn, queries: np.ndarray, k: int, passes: int) -> tuple[list[list[int]], dict]:
    """One warm-up pass, then ``passes`` timed ones; answers of the last pass."""
    answers: list[list[int]] = []
    search = _search(k)
    for query in queries:  # warm-up: prepared statement, caches
        conn.execute(search, [query], prepare=True).fetchall()
    samples: list[float] = []
    started = time.perf_counter()
    for _ in range(passes):
        answers = []
        for query in queries:
            before = time.perf_counter()
            ids = [row[0] for row in conn.execute(search, [query], prepare=True).fetchall()]
            samples.append(time.perf_counter() - before)
            answers.append(ids)
    wall = time.perf_counter() - started
    return answers, {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3),
        "queries_per_s": round(len(samples) / wall, 1),
        "samples": len(samples),
    }


def recall(answers: list[list[int]], truth: list[list[int]], k: int) -> float:
    return statistics.fmean(
        len(set(a[:k]) & set(t[:k])) / k for a, t in zip(answers, truth, strict=True)
    )


# --- Main --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="vectors in the table")
    parser.add_argument("--queries", type=int, default=200, help="query vectors")
    parser.add_argument("--k", type=int, default=20, help="neighbours per query (LIMIT)")
    parser.add_argument("--ef", default="40,100,200", help="hnsw.ef_search values")
    parser.add_argument("--m", type=int, default=16, help="HNSW m")
    parser.add_argument("--ef-construction", type=int, default=64, help="HNSW ef_construction")
    parser.add_argument(
        "--maintenance-work-mem",
        default="512MB",
        help="for the build session; the 100k graph needs ~200 MB, the server default is 64MB",
    )
    parser.add_argument("--passes", type=int, default=3, help="timed passes per HNSW setting")
    parser.add_argument("--exact-passes", type=int, default=1, help="timed exact passes")
    parser.add_argument("--database", default="zava_bench_hnsw", help="scratch database")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the data")
    parser.add_argument(
        "--wait-idle", type=float, default=30.0, help="s to wait for a quiet machine first"
    )
    parser.add_argument("--output", type=Path, help="JSON file (default var/bench/...)")
    args = parser.parse_args(argv)
    try:
        args.ef = [int(v) for v in args.ef.split(",") if v.strip()]
    except ValueError:
        parser.error("--ef takes integers, e.g. 40,100,200")
    if min(args.rows, args.queries, args.k, args.passes, args.exact_passes, *args.ef) < 1:
        parser.error("counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    import psycopg
    from pgvector.psycopg import register_vector

    from bench.mcp_vs_sql import busy_seconds, wait_for_idle

    args = parse_args(argv)
    when = stamp()
    busy = wait_for_idle(args.wait_idle)
    if busy > 0.2:
        print(f"WARNING: the machine is busy before the start ({busy:.2f} cores used).")
    busy_start, clock_start = busy_seconds(), time.perf_counter()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    real, categories = real_vectors()
    queries = query_vectors(real, args.queries, rng)
    corpus = synthetic_corpus(real, categories, args.rows, rng)
    truth_np = top_k(queries, corpus, args.k).tolist()
    data = {
        "rows": len(corpus),
        "real_rows": min(len(real), args.rows),
        "queries": len(queries),
        "real": neighbour_stats(real, queries[:78], args.k),
        "synthetic": neighbour_stats(corpus, queries, args.k),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(
        f"data: {len(corpus):,} vectors ({data['real_rows']} real), {len(queries)} queries in "
        f"{data['seconds']} s; median cosine real / synthetic: item's nearest "
        f"{data['real']['item_nn_cos_median']} / {data['synthetic']['item_nn_cos_median']}, "
        f"query top-1 {data['real']['query_top1_cos_median']} / "
        f"{data['synthetic']['query_top1_cos_median']}, query top-{args.k} "
        f"{data['real'][f'query_top{args.k}_cos_median']} / "
        f"{data['synthetic'][f'query_top{args.k}_cos_median']}",
        flush=True,
    )

    result: dict[str, Any] = {"config": vars(args) | {"output": str(args.output)}, "data": data}
    with (
        scratch_database(args.database, args.keep) as conninfo,
        psycopg.connect(**conninfo) as conn,
    ):
        seconds = load(conn, corpus)
        print(f"loaded {len(corpus):,} rows with binary COPY in {seconds:.1f} s", flush=True)
        result["load_seconds"] = round(seconds, 2)
        result["build"] = build_index(
            conn, conninfo, args.m, args.ef_construction, args.maintenance_work_mem
        )
        build = result["build"]
        print(
            f"index built in {build['seconds']:.1f} s: table {build['table_mb']} MB, "
            f"index {build['index_mb']} MB"
            + (f"; notices: {build['notices']}" if build["notices"] else ""),
            flush=True,
        )
        register_vector(conn)
        # Plan every execution with its own vector, so the EXPLAIN checked is what runs.
        conn.execute("SET plan_cache_mode = force_custom_plan")
        conn.execute("SET enable_indexscan = off")
        exact_plan = plan(conn, queries[0], args.k)
        print(f"exact ({exact_plan}) ...", flush=True)
        truth, exact = run_queries(conn, queries, args.k, args.exact_passes)
        exact["plan"] = exact_plan
        exact["agrees_with_numpy"] = round(recall(truth, truth_np, args.k), 4)
        result["exact"] = exact
        print(
            f"  exact: p50 {exact['p50_ms']:.2f} ms, p99 {exact['p99_ms']:.2f} ms, "
            f"{exact['queries_per_s']:.1f} q/s; SQL top-{args.k} = numpy's for "
            f"{exact['agrees_with_numpy']:.1%} of ids",
            flush=True,
        )

        conn.execute("RESET enable_indexscan")
        result["hnsw"] = {}
        for ef in args.ef:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", [str(ef)])
            hnsw_plan = plan(conn, queries[0], args.k)
            if INDEX not in hnsw_plan:
                raise SystemExit(f"the planner did not use {INDEX}: {hnsw_plan}")
            answers, row = run_queries(conn, queries, args.k, args.passes)
            row["recall"] = round(recall(answers, truth, args.k), 4)
            row["speedup_p50"] = round(exact["p50_ms"] / row["p50_ms"], 1)
            row["speedup_qps"] = round(row["queries_per_s"] / exact["queries_per_s"], 1)
            result["hnsw"][str(ef)] = row
            print(
                f"  HNSW ef_search {ef:>3}: p50 {row['p50_ms']:.2f} ms, p99 "
                f"{row['p99_ms']:.2f} ms, {row['queries_per_s']:.0f} q/s, recall@{args.k} "
                f"{row['recall']:.3f}",
                flush=True,
            )

    # PostgreSQL does nearly all the work, so the machine's busy cores beyond ~1 (up to
    # 3 during the parallel build and exact scans) are other programs'.
    result["machine"] = {
        "cpus": os.cpu_count(),
        "busy_before_start_cores": round(busy, 3),
        "busy_during_run_cores": round(
            (busy_seconds() - busy_start) / (time.perf_counter() - clock_start), 3
        ),
    }
    print_report(result, args)
    write_report("hnsw_scale", when, result, args.output)
    return 0


def print_report(result: dict, args: argparse.Namespace) -> None:
    exact, build = result["exact"], result["build"]
    print()
    print(
        f"HNSW vs exact, {result['data']['rows']:,} vectors x {DIMENSIONS}d, "
        f"{result['data']['queries']} queries, top {args.k}, one query at a time; "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"  build: {build['seconds']:.1f} s (m={args.m}, ef_construction={args.ef_construction},"
        f" {build['max_parallel_maintenance_workers']} parallel workers, "
        f"maintenance_work_mem {build['maintenance_work_mem']}); index {build['index_mb']} MB, "
        f"table {build['table_mb']} MB"
    )
    header = (
        f"{'search':<20} | {'p50 ms':>8} {'p99 ms':>8} {'q/s':>8} | "
        f"{'x exact (p50)':>13} {'x exact (q/s)':>13} | {'recall@' + str(args.k):>9}"
    )
    print(header)
    print("-" * len(header))
    print(
        f"{'exact (seq scan)':<20} | {exact['p50_ms']:8.2f} {exact['p99_ms']:8.2f} "
        f"{exact['queries_per_s']:8.1f} | {'1.0':>13} {'1.0':>13} | {'1.000':>9}"
    )
    for ef, row in result["hnsw"].items():
        print(
            f"{'HNSW ef_search ' + ef:<20} | {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} "
            f"{row['queries_per_s']:8.1f} | {row['speedup_p50']:>12.1f}x "
            f"{row['speedup_qps']:>12.1f}x | {row['recall']:9.3f}"
        )
    print(f"  exact plan: {exact['plan']}")
    machine = result["machine"]
    print(
        f"  machine: {machine['busy_before_start_cores']:.2f} cores busy before the start, "
        f"{machine['busy_during_run_cores']:.2f} on average during the run (of {machine['cpus']})"
    )


if __name__ == "__main__":
    sys.exit(main())
