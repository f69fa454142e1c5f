"""Load test: N concurrent MCP clients for T seconds over a mix of tools.

Starts gunicorn (as ``make serve`` does) on the seeded database, issues a token for
the Puget Sound regional manager, and runs ``--clients`` closed-loop clients, each
call picking the next workload of a realistic mix (queries, schemas, semantic
search, the date). Reports calls/s, p50/p95/p99 and errors, per workload and in all.

    .venv/bin/python bench/load.py                       # 16 clients for 60 s
    .venv/bin/python bench/load.py --clients 8 --duration 20
    .venv/bin/python bench/load.py --smoke               # CI: a scratch database, 2 clients
                                                         # for 3 s, exit 1 on any error

``--smoke`` builds its own small database (migrate, seed 2,000 customers, embed) and
drops it afterwards, so it needs no prior ``make run``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import RunStats, Target, Window, run_closed_loop, tools_call_body
from bench.mcp_vs_sql import ROOT, BenchError, Server

MANAGER = "puget.sound@zava.example"
SMOKE_DATABASE = "zava_load_smoke"

# (name, tool, arguments): what a regional manager's assistant asks, in proportion.
MIX = [
    ("sales by store", "execute_sales_query", {"postgresql_query": (
        "SELECT s.store_name, sum(oi.total_amount) AS revenue FROM retail.order_items oi "
        "JOIN retail.stores s USING (store_id) GROUP BY s.store_name ORDER BY revenue DESC")}),
    ("top products 2025", "execute_sales_query", {"postgresql_query": (
        "SELECT p.product_name, sum(oi.quantity) AS units FROM retail.order_items oi "
        "JOIN retail.products p USING (product_id) JOIN retail.orders o USING (order_id) "
        "WHERE o.order_date >= DATE '2025-01-01' AND o.order_date < DATE '2026-01-01' "
        "GROUP BY p.product_name ORDER BY units DESC LIMIT 20")}),
    ("monthly revenue", "execute_sales_query", {"postgresql_query": (
        "SELECT date_trunc('month', o.order_date)::date AS month, sum(oi.total_amount) "
        "FROM retail.orders o JOIN retail.order_items oi USING (order_id) "
        "WHERE o.order_date >= DATE '2025-01-01' GROUP BY 1 ORDER BY 1")}),
    ("low stock", "execute_sales_query", {"postgresql_query": (
        "SELECT s.store_name, p.product_name, i.stock_level FROM retail.inventory i "
        "JOIN retail.stores s USING (store_id) JOIN retail.products p USING (product_id) "
        "ORDER BY i.stock_level LIMIT 20")}),
    ("schemas", "get_multiple_table_schemas",
     {"table_names": ["retail.orders", "retail.order_items", "retail.products"]}),
    ("semantic search", "semantic_search_products",
     {"query_description": "containers for paint", "max_rows": 10}),
    ("semantic search 2", "semantic_search_products",
     {"query_description": "waterproof electrical box for outdoor use"}),
    ("date", "get_current_utc_date", {}),
]  # fmt: skip


def mixed_body(number: int) -> bytes:
    return _BODIES[number % len(_BODIES)](number)


_BODIES = [tools_call_body(tool, arguments) for _, tool, arguments in MIX]


def manage(environment: dict[str, str], *args: str) -> str:
    """``manage.py <args>`` in ``environment``; its output, or BenchError with its errors."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


@contextlib.contextmanager
def smoke_database(
    environment: dict[str, str],
    name: str = SMOKE_DATABASE,
    customers: int = 2000,
    embed: bool = True,
):
    """A small, freshly seeded database for a smoke run, dropped afterwards."""
    steps = f"migrate, seed {customers:,} customers" + (", embed" if embed else "")
    print(f"preparing a scratch database ({steps}) …")
    scratch = {**environment, "ZAVA_DB_NAME": name}
    try:
        seed_scratch_database(scratch, customers, embed=embed)
        yield scratch
    finally:
        drop_database(scratch)


def seed_scratch_database(scratch: dict[str, str], customers: int, *, embed: bool = True) -> float:
    """(Re)create the database ``scratch`` names, migrate, seed ``customers`` customers
    and embed the catalogue; the seconds the seeding itself took."""
    name = scratch["ZAVA_DB_NAME"]
    drop_database(scratch)
    manage(_without_database(scratch), "shell", "-c", "from django.db import connection; "
           f"connection.cursor().execute('CREATE DATABASE {name}')")  # fmt: skip
    manage(scratch, "migrate", "-v0")
    started = time.monotonic()
    manage(scratch, "seed_retail", "--customers", str(customers), "-v0")
    seeded = time.monotonic() - started
    if embed:
        manage(scratch, "embed_products", "-v0")
    return seeded


def drop_database(scratch: dict[str, str]) -> None:
    """Drop the database ``scratch`` names, if it exists."""
    with contextlib.suppress(BenchError):
        manage(_without_database(scratch), "shell", "-c", "from django.db import connection; "
               f"connection.cursor().execute('DROP DATABASE IF EXISTS {scratch['ZAVA_DB_NAME']} "
               "WITH (FORCE)')")  # fmt: skip


def _without_database(scratch: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in scratch.items() if k != "ZAVA_DB_NAME"}


def report(stats: RunStats, clients: int, duration: float) -> dict:
    summary = {
        "clients": clients,
        "duration_s": duration,
        "calls": stats.completed,
        "calls_per_s": round(stats.throughput, 1),
        "p50_ms": round(stats.percentile_ms(50) or 0, 2),
        "p95_ms": round(stats.percentile_ms(95) or 0, 2),
        "p99_ms": round(stats.percentile_ms(99) or 0, 2),
        "errors": stats.error_count,
        "error_kinds": dict(stats.errors),
    }
    print(
        f"\n{clients} clients for {duration:.0f} s over a mix of {len(MIX)} workloads "
        f"({', '.join(name for name, _, _ in MIX)})\n"
        f"  calls/s {summary['calls_per_s']:>8}   p50 {summary['p50_ms']:>7} ms   "
        f"p95 {summary['p95_ms']:>7} ms   p99 {summary['p99_ms']:>7} ms   "
        f"errors {summary['errors']}"
    )
    if stats.error_sample:
        print(f"  first error: {stats.error_sample}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured (60)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before measuring (3)")
    parser.add_argument(
        "--smoke", action="store_true", help="CI smoke: scratch DB, 2 clients, 3 s, fail on errors"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.clients, args.duration, args.warmup = 2, 3.0, 1.0

    environment = {**os.environ, "ZAVA_RATE_LIMIT_PER_MINUTE": "0"}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench"
    with contextlib.ExitStack() as stack:
        if args.smoke:
            environment = stack.enter_context(smoke_database(environment))
        token = manage(environment, "issue_token", MANAGER, "--name", "load").splitlines()[-1]
        stack.callback(manage, environment, "revoke_token", token)
        server = Server(out_dir / f"gunicorn-load-{stamp}.log", environment)
        server.start()
        stack.callback(server.stop)
        target = Target("127.0.0.1", server.port, token)
        server.wait_ready(target)
        print(f"load: {args.clients} clients for {args.duration:.0f} s on port {server.port} …")
        window = Window.after(args.warmup, args.duration)
        stats = run_closed_loop(target, mixed_body, args.clients, window)
    summary = report(stats, args.clients, args.duration)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"load-{stamp}.json").write_text(json.dumps(summary, indent=2))
    if stats.completed == 0 or stats.error_count:
        print("FAILED: errors or no completed calls")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
