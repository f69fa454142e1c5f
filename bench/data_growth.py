"""How a call's cost grows with the data: 1x, 4x and 16x the orders, side by side.

For each scale, a scratch database is seeded with that many times the default
customers (50,000 at 1x, so about 200,000 orders; 16x is about 3.2 M orders and
8 M order lines), and the seed time is reported. gunicorn is started on it as
``make serve`` does (answer cache off), and for three callers (Seattle's store
manager, the Puget Sound regional manager with six stores, head office with all
eight) each workload runs in a closed loop at one client:

* b: revenue by category for 2024 (``shared/PERF_WORKLOADS.md``), through
  ``execute_sales_query``, and its SQL floor (the statement in the same tenant
  context, no HTTP), with b's plan as each caller at each size;
* ``get_store_performance`` (last 30 days) and ``get_sales_trend`` (last 90 days,
  by week): two analytics tools, several statements each;
* ``semantic_search_products`` ("cordless drill"): the vector is cached after the
  first call, so this is the search itself.

A cost that grows with the caller's stores is expected; one that grows with the whole
table for a store manager is a plan to fix. CPU per call is split into the server
and PostgreSQL, as ``mcp_vs_sql.py`` does.

    .venv/bin/python bench/data_growth.py                  # 1x, 4x, 16x (about 25 min)
    .venv/bin/python bench/data_growth.py --scales 1,4     # a subset
    .venv/bin/python bench/data_growth.py --keep           # keep the databases for a rerun
    .venv/bin/python bench/data_growth.py --smoke          # 2,000 customers, 1 s per run

Results are printed and written to ``var/bench/data_growth-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.load import drop_database, manage, seed_scratch_database
from bench.loadgen import Target, Window, run_closed_loop, tools_call_body
from bench.mcp_vs_sql import (
    APP_NAME,
    REVENUE_SQL,
    BenchError,
    CpuMeter,
    Probe,
    Server,
    _run_record,
    git_revision,
    meter_conninfo,
    postgres_pid,
    run_sql,
)

ROOT = Path(__file__).resolve().parents[1]
BASE_CUSTOMERS = 50_000  # seed_retail's default: the 1x dataset
CALLERS = {
    "store manager": "seattle.manager@zava.example",
    "regional (6 stores)": "puget.sound@zava.example",
    "head office (8)": "head.office@zava.example",
}
WORKLOADS = {
    "b: revenue 2024": ("execute_sales_query", {"postgresql_query": REVENUE_SQL}),
    "store performance": ("get_store_performance", {"period": "last_30_days"}),
    "sales trend": ("get_sales_trend", {"period": "last_90_days", "granularity": "week"}),
    "semantic search": ("semantic_search_products", {"query_description": "cordless drill"}),
}


# --- The child: one scale's measurements, in a process set up for its database ----


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every caller x workload on the database in ZAVA_DB_NAME; the result as JSON."""
    os.environ["PGAPPNAME"] = APP_NAME
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, connections

    from retail.services.tokens import manager_resolve, token_issue, token_revoke
    from retail.tenancy import run_as_tenant, tenant_cursor

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM retail.orders), (SELECT count(*) FROM retail.order_items)"
        )
        orders, lines = cursor.fetchone()
    environment = {
        **os.environ,
        "ZAVA_CACHE_SECONDS": "0",
        "ZAVA_RATE_LIMIT_PER_MINUTE": "1000000000",
    }
    log = ROOT / "var" / "bench" / f"gunicorn-growth-{settings.DATABASES['default']['NAME']}.log"
    server = Server(log, environment)
    issued = {
        label: token_issue(manager=manager_resolve(email), name="bench-growth")
        for label, email in CALLERS.items()
    }
    results: dict[str, Any] = {"orders": orders, "order_lines": lines, "callers": {}}
    try:
        server.start()
        targets = {
            label: Target("127.0.0.1", server.port, token.raw) for label, token in issued.items()
        }
        server.wait_ready(next(iter(targets.values())))
        assert server.process is not None
        meter = CpuMeter(server.process.pid, postgres_pid(), meter_conninfo())
        for label, target in targets.items():
            manager_id = issued[label].token.manager_id
            rows: dict[str, Any] = {}
            for workload, (tool, arguments) in WORKLOADS.items():
                window = Window.after(args.warmup, args.duration)
                probe = Probe(meter, window, None)
                stats = run_closed_loop(target, tools_call_body(tool, arguments), 1, window)
                rows[workload] = _run_record(1, stats, *probe.result())
                _progress(orders, label, workload, rows[workload])
            connections.close_all()
            threads, window, stats = run_sql(REVENUE_SQL, manager_id, 1, args.warmup, args.duration)
            probe = Probe(meter, window, None)
            for thread in threads:
                thread.join()
            rows["b: SQL floor"] = _run_record(1, stats, *probe.result())
            _progress(orders, label, "b: SQL floor", rows["b: SQL floor"])
            rows["b plan"] = run_as_tenant(manager_id, lambda: _explain(tenant_cursor))
            rows["visible order lines"] = run_as_tenant(manager_id, lambda: _lines(tenant_cursor))
            results["callers"][label] = rows
        meter.close()
    finally:
        server.stop()
        for token in issued.values():
            token_revoke(token=token.token)
    return results


def _explain(tenant_cursor: Any) -> list[str]:
    with tenant_cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + REVENUE_SQL)
        return [line for (line,) in cursor.fetchall()]


def _lines(tenant_cursor: Any) -> int:
    """The order lines the caller can see: what their cost should grow with."""
    with tenant_cursor() as cursor:
        cursor.execute("SELECT count(*) FROM retail.order_items")
        return cursor.fetchone()[0]


def _progress(orders: int, caller: str, workload: str, run: dict) -> None:
    per_call = run["cpu_ms_per_call"]
    print(
        f"  {orders:>9,} orders  {caller:<20} {workload:<18} {run['throughput']:8.1f}/s  "
        f"p50 {run['p50_ms'] or 0:8.2f} ms  CPU web {per_call.get('server') or 0:6.2f} "
        f"db {per_call.get('postgres') or 0:7.2f} ms  errors {sum(run['errors'].values())}",
        file=sys.stderr,
        flush=True,
    )


# --- The parent: databases, one child per scale, the report --------------------------


def build(scale: int, customers: int, keep: bool) -> tuple[dict[str, str], float | None]:
    """The scratch database for ``scale`` (reused with --keep), and its seed time."""
    name = f"zava_growth_{scale}x"
    scratch = {**os.environ, "ZAVA_DB_NAME": name}
    if keep and _seeded(scratch):
        print(f"{scale}x: reusing {name} (migrated to this checkout's schema)")
        manage(scratch, "migrate", "-v0")
        return scratch, None
    print(f"{scale}x: seeding {customers:,} customers into {name} …", flush=True)
    seeded = seed_scratch_database(scratch, customers)
    print(f"{scale}x: seeded in {seeded:.0f} s", flush=True)
    return scratch, seeded


def _seeded(scratch: dict[str, str]) -> bool:
    try:
        out = manage(
            scratch, "shell", "-c", "from retail.models import Order; print(Order.objects.exists())"
        )
    except BenchError:
        return False
    return out.strip().endswith("True")


def print_report(results: list[dict[str, Any]]) -> None:
    print()
    print("How cost grows with the data: medians of one run per row, one client, cache off")
    header = (
        f"{'orders':>10} {'lines':>10} {'seed s':>7} | {'caller':<20} {'workload':<18} | "
        f"{'calls/s':>8} {'p50 ms':>8} | {'web ms':>7} {'db ms':>8} | {'floor p50':>9}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        seed = "-" if result["seed_seconds"] is None else f"{result['seed_seconds']:.0f}"
        for caller, rows in result["callers"].items():
            floor = rows["b: SQL floor"]["p50_ms"]
            for workload in WORKLOADS:
                run = rows[workload]
                per_call = run["cpu_ms_per_call"]
                shown_floor = f"{floor:9.2f}" if workload.startswith("b:") and floor else ""
                print(
                    f"{result['orders']:>10,} {result['order_lines']:>10,} {seed:>7} | "
                    f"{caller:<20} {workload:<18} | {run['throughput']:8.1f} "
                    f"{run['p50_ms'] or 0:8.2f} | {per_call.get('server') or 0:7.2f} "
                    f"{per_call.get('postgres') or 0:8.2f} | {shown_floor:>9}"
                )
    print()
    print(
        "  web, db: ms of CPU per call in gunicorn and PostgreSQL; floor: b's statement in the "
        "same tenant context, no HTTP (p50 ms)."
    )
    print()
    print("Workload b as each caller: its SQL floor against the order lines the caller sees")
    for result in results:
        for caller, rows in result["callers"].items():
            timing = [line for line in rows["b plan"] if line.startswith("Execution Time")]
            lines = rows.get("visible order lines")
            floor = rows["b: SQL floor"]["p50_ms"]
            per_line = f"{floor * 1000 / (lines / 1000):7.1f} us per 1k lines" if lines else ""
            print(
                f"  {result['orders']:>10,} orders  {caller:<20} sees {lines or 0:>10,} lines  "
                f"floor p50 {floor or 0:8.2f} ms  {per_line}  plan: "
                f"{timing[0].split(': ', 1)[-1] if timing else '?'}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,4,16", help="multiples of the default dataset")
    parser.add_argument("--duration", type=float, default=5.0, help="measured s per run")
    parser.add_argument("--warmup", type=float, default=1.0, help="warm-up s before each run")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the databases")
    parser.add_argument("--smoke", action="store_true", help="2,000 customers, 1 s per run")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        args.scales = [int(s) for s in str(args.scales).split(",") if s.strip()]
    except ValueError:
        parser.error("--scales takes integers, e.g. 1,4,16")
    if args.smoke:
        args.duration, args.warmup, args.scales = 1.0, 0.3, [1]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args)))
        return 0
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    for scale in args.scales:
        customers = 2000 if args.smoke else BASE_CUSTOMERS * scale
        scratch, seeded = build(scale, customers, args.keep)
        try:
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--measure",
                    "--duration",
                    str(args.duration),
                    "--warmup",
                    str(args.warmup),
                ],
                cwd=ROOT,
                env=scratch,
                stdout=subprocess.PIPE,
                text=True,
                check=False,
            )
            if child.returncode != 0:
                raise BenchError(f"measuring {scale}x failed (exit {child.returncode})")
            result = json.loads(child.stdout.strip().splitlines()[-1])
        finally:
            if not args.keep:
                drop_database(scratch)
        results.append({"scale": scale, "customers": customers, "seed_seconds": seeded, **result})
    print_report(results)
    output = ROOT / "var" / "bench" / f"data_growth-{stamp}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "started_at": stamp,
                "git": git_revision(),
                "config": {"duration": args.duration, "warmup": args.warmup},
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten: {output.relative_to(ROOT)}")
    errors = sum(
        sum(r["errors"].values())
        for res in results
        for rows in res["callers"].values()
        for r in rows.values()
        if isinstance(r, dict)  # the runs, not the plan or the line count
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
