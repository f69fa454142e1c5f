"""The compared workloads: our MCP server against a reference-shaped baseline and SQL.

Runs the three workloads of ``shared/PERF_WORKLOADS.md`` verbatim (a: ``SELECT 1``,
b: revenue by category with ``COUNT(DISTINCT …)`` and ``LIMIT 20``, c: the schema of
``retail.orders``) as the Seattle store manager, with our answer cache off, against
two servers started here on free local ports: ours (gunicorn with
``zava/gunicorn_conf.py``, as ``make serve``) and the baseline
(``bench/baseline_server.py``: FastMCP + asyncpg + uvicorn, doing per call what the
reference does, on a reference-shaped copy of our data). It checks that both answer
workload b with the rows direct SQL gives, prints b's ``EXPLAIN (ANALYZE, BUFFERS)``,
then measures every row at each concurrency, interleaved round-robin for
``--rounds`` rounds, and reports medians and ours / baseline, measured in this run.

For a and b it also measures two SQL floors with the same closed loop: the statement
inside the tenant context (the same row-level-security work, one transaction per
query as a call opens) and as the database owner with an explicit store filter (no
RLS, no tenant context). CPU per call is split into the web server and PostgreSQL.
Extra rows, labelled, show b and c with the answer cache on: b with every query a new
question (``fresh``) and the same question repeated (``hits``), c as configured.

    .venv/bin/python bench/mcp_vs_sql.py                       # 3 rounds of 10 s, c=1,8
    .venv/bin/python bench/mcp_vs_sql.py --duration 20         # 3 x 20 s
    .venv/bin/python bench/mcp_vs_sql.py --smoke               # CI: 2 s, c=1,2, exit 1 on errors
    .venv/bin/python bench/mcp_vs_sql.py --no-extras           # the compared rows only
    .venv/bin/python bench/mcp_vs_sql.py --report var/bench/mcp_vs_sql-<stamp>.json

Results are printed and written to ``var/bench/mcp_vs_sql-<timestamp>.json``.
See bench/README.md for how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import (
    RunStats,
    Target,
    Window,
    answer_json,
    check_shape,
    message_of,
    post_once,
    run_closed_loop,
    tools_call_body,
)

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "zava-bench"  # PostgreSQL application_name of the server's and our backends
SEATTLE_MANAGER = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
AIM = 1.5  # our calls/s over the baseline's, on every compared row
AIM_SELECT1 = 2.0  # and on the trivial call at one client: every question costs several

# PERF_WORKLOADS.md, workload b, verbatim.
REVENUE_SQL = """SELECT c.category_name,
       SUM(oi.total_amount) AS revenue,
       SUM(oi.quantity) AS units_sold,
       COUNT(DISTINCT oi.order_id) AS orders
FROM retail.order_items oi
JOIN retail.orders o ON o.order_id = oi.order_id
JOIN retail.products p ON p.product_id = oi.product_id
JOIN retail.categories c ON c.category_id = p.category_id
WHERE o.order_date >= DATE '2024-01-01' AND o.order_date < DATE '2025-01-01'
GROUP BY c.category_name
ORDER BY revenue DESC
LIMIT 20"""
# The owner's floor: the same query with the store filter RLS would add, written out.
REVENUE_OWNER_SQL = REVENUE_SQL.replace(
    "WHERE o.order_date",
    "WHERE o.store_id = ANY(%(stores)s) AND oi.store_id = ANY(%(stores)s)\n  AND o.order_date",
)


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    tool: str
    arguments: dict[str, Any]
    sql: str | None  # the SQL floors' statement, if there is one
    owner_sql: str | None  # the same as the owner, with the store filter written out
    cache: str  # the answer cache as the compared table ran it: "off" or "on"


WORKLOADS = [
    Workload(
        "select1",
        "a: SELECT 1",
        "execute_sales_query",
        {"postgresql_query": "SELECT 1 AS x"},
        "SELECT 1 AS x",
        "SELECT 1 AS x",
        "off",
    ),
    Workload(
        "revenue",
        "b: revenue by category",
        "execute_sales_query",
        {"postgresql_query": REVENUE_SQL},
        REVENUE_SQL,
        REVENUE_OWNER_SQL,
        "off",
    ),
    Workload(
        "schemas",
        "c: table schemas",
        "get_multiple_table_schemas",
        {"table_names": ["retail.orders"]},
        None,
        None,
        "off",
    ),
]


@dataclass(frozen=True)
class Row:
    """One measured row: a workload against the server with one answer-cache mode."""

    workload: Workload
    mode: str  # a key of CACHE_MODES

    @property
    def key(self) -> str:
        return (
            self.workload.key
            if self.mode == self.workload.cache
            else f"{self.workload.key}-{self.mode}"
        )

    @property
    def label(self) -> str:
        return (
            self.workload.label
            if self.mode == self.workload.cache
            else f"  (extra) {self.workload.label.split(':')[0]}, cache {self.mode}"
        )

    @property
    def compared(self) -> bool:
        return self.mode == self.workload.cache


def aim(workload: Workload, concurrency: int) -> float:
    """The ratio of our calls/s to the baseline's that a compared row must reach."""
    return AIM_SELECT1 if (workload.key, concurrency) == ("select1", 1) else AIM


# How the runs meet the server's answer cache.
CACHE_MODES = {
    "off": "off (ZAVA_CACHE_SECONDS=0): every call computes everything",
    "on": "on, as configured by default",
    "fresh": "on, every query a new question (runs its SQL)",
    "hits": "on, the same question repeated: cache hits",
}


class BenchError(Exception):
    """The bench could not run or the server answered wrongly."""


# --- CPU accounting ---------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far), for every process."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        fields = raw[raw.rindex(b")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (not idle or waiting)."""
    with open("/proc/stat") as handle:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(
            int, handle.readline().split()[1:9]
        )
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _tree(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
        members.update(children)
        frontier.extend(children)
    return members & table.keys()


def reaped_seconds(pid: int) -> float:
    """CPU seconds of ``pid``'s children that have exited and been waited for (the
    parallel query workers PostgreSQL starts and ends within a query)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return 0.0
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / CLOCK_TICKS


@dataclass
class CpuSample:
    when: float
    busy: float
    table: dict[int, tuple[int, float]]
    foreign: set[int]  # PostgreSQL backends serving other programs
    reaped: float  # the postmaster's exited children, so far


class CpuMeter:
    """CPU used by the server, PostgreSQL and this process between two samples.

    PostgreSQL counts the postmaster's children (auxiliary processes included) except
    the backends of other programs: the server and this process connect with
    application_name ``zava-bench``, so the others are told apart in pg_stat_activity.
    Children that ended during the interval (parallel workers) count too, from the
    postmaster's tally of its reaped children, whoever they served.
    """

    FOREIGN_BACKENDS = """
        SELECT a.pid FROM pg_stat_activity AS a
        LEFT JOIN pg_stat_activity AS leader ON leader.pid = a.leader_pid
        WHERE a.backend_type IN ('client backend', 'parallel worker')
          AND coalesce(leader.application_name, a.application_name) IS DISTINCT FROM %s
    """

    def __init__(self, server_pid: int, postgres_pid: int | None, conninfo: dict) -> None:
        import psycopg

        self.server_pid = server_pid
        self.postgres_pid = postgres_pid
        self._db = psycopg.connect(**conninfo, application_name=APP_NAME, autocommit=True)

    def close(self) -> None:
        self._db.close()

    def sample(self) -> CpuSample:
        foreign = set()
        if self.postgres_pid:
            rows = self._db.execute(self.FOREIGN_BACKENDS, [APP_NAME]).fetchall()
            foreign = {pid for (pid,) in rows}
        reaped = reaped_seconds(self.postgres_pid) if self.postgres_pid else 0.0
        return CpuSample(time.perf_counter(), busy_seconds(), _process_table(), foreign, reaped)

    def usage(self, first: CpuSample, last: CpuSample) -> dict[str, float]:
        """Cores used per group over the interval; ``others`` is everything else."""
        postgres = set()
        if self.postgres_pid:
            postgres = _tree(last.table, self.postgres_pid) - first.foreign - last.foreign
        groups = {
            "server": _tree(last.table, self.server_pid),
            "postgres": postgres,
            "bench": {os.getpid()},
        }
        elapsed = last.when - first.when
        cores = {}
        for name, pids in groups.items():
            used = sum(
                last.table[pid][1] - first.table.get(pid, (0, 0.0))[1]
                for pid in pids
                if pid in last.table
            )
            if name == "postgres":
                used += last.reaped - first.reaped  # workers that came and went meanwhile
            cores[name] = used / elapsed
        total = (last.busy - first.busy) / elapsed
        cores["others"] = max(total - sum(cores.values()), 0.0)
        return {name: round(value, 3) for name, value in cores.items()}


def meter_conninfo() -> dict[str, Any]:
    """Connection parameters of Django's default database, for a :class:`CpuMeter`."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    info = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": db["NAME"]}
    return {k: v for k, v in {**info, "password": db["PASSWORD"]}.items() if v}


def postgres_pid() -> int | None:
    """The embedded server's postmaster (None for an external server: its CPU is not ours
    to read)."""
    from django.conf import settings

    if not settings.ZAVA_EMBEDDED_DB:
        return None
    with contextlib.suppress(OSError, ValueError):
        pid_file = Path(settings.DATABASES["default"]["HOST"]) / "postmaster.pid"
        return int(pid_file.read_text().split("\n", 1)[0])
    return None


def _connections_per_worker(server_pid: int, port: int) -> list[int]:
    """Established client connections held by each gunicorn worker (they stick)."""
    inodes = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(path).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    table = _process_table()
    counts = []
    for pid in sorted(_tree(table, server_pid) - {server_pid}):
        held = 0
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    held += os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
        counts.append(held)
    return sorted(counts, reverse=True)


class Probe:
    """Samples CPU (and the connection split) at the window's edges, on a thread."""

    def __init__(self, meter: CpuMeter, window: Window, split: tuple[int, int] | None) -> None:
        self.meter, self.window, self.split = meter, window, split
        self.cores: dict[str, float] = {}
        self.connections: list[int] | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        time.sleep(max(self.window.start - time.perf_counter(), 0))
        first = self.meter.sample()
        if self.split is not None:
            self.connections = _connections_per_worker(*self.split)
        time.sleep(max(self.window.end - time.perf_counter(), 0))
        self.cores = self.meter.usage(first, self.meter.sample())

    def result(self) -> tuple[dict[str, float], list[int] | None]:
        self._thread.join()
        return self.cores, self.connections


# --- The server -----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def gunicorn_command(port: int) -> list[str]:
    """The server as ``make serve`` runs it, on ``port``."""
    return [
        str(Path(sys.executable).parent / "gunicorn"), "zava.wsgi:application",
        "--config", "zava/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip


def baseline_command(dsn: str) -> Callable[[int], list[str]]:
    """bench/baseline_server.py on the reference-shaped database ``dsn``."""
    script = str(ROOT / "bench" / "baseline_server.py")
    return lambda port: [sys.executable, script, "--dsn", dsn, "--port", str(port)]


class Server:
    """A server (by default gunicorn as ``make serve`` runs it) on a free port, in its
    own process group."""

    def __init__(
        self,
        log_path: Path,
        environment: dict[str, str],
        root: Path = ROOT,
        command: Callable[[int], list[str]] = gunicorn_command,
    ) -> None:
        self.log_path = log_path
        self.environment = environment
        self.root = root  # the checkout whose code it serves
        self.port = _free_port()
        self.command = command(self.port)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.root,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )

    def wait_ready(self, target: Target, timeout: float = 90.0) -> None:
        ping = b'{"jsonrpc":"2.0","id":0,"method":"ping"}'
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise BenchError(f"server exited early; see {self.log_path}:\n{self.log_tail()}")
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                status, body = post_once(target, ping)
                if status == 200 and b'"result"' in body:
                    return
                raise BenchError(f"ping answered {status}: {body[:300]!r}")
            time.sleep(0.25)
        raise BenchError(f"server not ready after {timeout:.0f} s; see {self.log_path}")

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # graceful: the master stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


# --- Direct SQL -----------------------------------------------------------------------


def run_sql(
    sql: str,
    manager_id: uuid.UUID,
    concurrency: int,
    warmup: float,
    duration: float,
    *,
    owner_stores: list[int] | None = None,
) -> tuple[list[threading.Thread], Window, RunStats]:
    """The statement in a closed loop, one thread and connection per client, each
    query in its own tenant transaction (what one MCP call opens); with
    ``owner_stores``, as the owner instead, outside any tenant context, with the
    stores passed as the statement's ``stores`` parameter."""
    from django.db import connections

    from retail.tenancy import run_as_tenant, tenant_cursor

    def tenant_query() -> None:
        with tenant_cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchall()

    stats = RunStats(concurrency=concurrency, duration=duration)
    lock = threading.Lock()
    connected = threading.Barrier(concurrency + 1)
    go = threading.Event()
    holder: list[Window] = []
    failures: list[str] = []
    clock = time.perf_counter

    def client() -> None:
        latencies: list[float] = []
        errors: Counter[str] = Counter()
        sample = None
        try:
            try:
                run_as_tenant(manager_id, lambda: None)  # a connection before the clock
            except Exception as exc:
                failures.append(f"{type(exc).__name__}: {exc}")
                connected.abort()
                return
            with contextlib.suppress(threading.BrokenBarrierError):
                connected.wait()
            if not go.wait(timeout=120) or not holder:
                return
            window = holder[0]
            while clock() < window.end:
                sent = clock()
                problem = None
                try:
                    if owner_stores is not None:
                        with connections["default"].cursor() as cursor:
                            cursor.execute(sql, {"stores": owner_stores})
                            cursor.fetchall()
                    else:
                        run_as_tenant(manager_id, tenant_query)
                except Exception as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                done = clock()
                if window.start <= done <= window.end:
                    if problem is None:
                        latencies.append(done - sent)
                    else:
                        errors[problem.split(":")[0]] += 1
                        sample = sample or problem
        finally:
            connections.close_all()
            with lock:
                stats.latencies.extend(latencies)
                stats.errors.update(errors)
                stats.error_sample = stats.error_sample or sample

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    try:
        connected.wait(timeout=60)
    except threading.BrokenBarrierError:
        problem = failures[0] if failures else "timed out"
        raise BenchError(f"The direct-SQL clients could not connect: {problem}") from None
    holder.append(Window.after(warmup, duration))
    go.set()
    return threads, holder[0], stats


# --- Running and reporting ---------------------------------------------------------------


def _run_record(round_no: int, stats: RunStats, cores: dict, split: list[int] | None) -> dict:
    calls = stats.completed
    return {
        "round": round_no,
        "throughput": round(stats.throughput, 2),
        "p50_ms": _round(stats.percentile_ms(50)),
        "p95_ms": _round(stats.percentile_ms(95)),
        "p99_ms": _round(stats.percentile_ms(99)),
        "completed": calls,
        "errors": dict(stats.errors),
        "error_sample": stats.error_sample,
        "cores": cores,
        "cpu_ms_per_call": {
            name: round(used * stats.duration / calls * 1000, 3) if calls else None
            for name, used in cores.items()
            if name != "others"
        },
        "connections_per_worker": split,
    }


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarise(runs: list[dict]) -> dict:
    errors: Counter[str] = Counter()
    for run in runs:
        errors.update(run["errors"])
    return {
        "throughput": _round(_median([r["throughput"] for r in runs])),
        "p50_ms": _round(_median([r["p50_ms"] for r in runs])),
        "p95_ms": _round(_median([r.get("p95_ms") for r in runs])),
        "p99_ms": _round(_median([r["p99_ms"] for r in runs])),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "cores": {
            k: _round(_median([r["cores"].get(k) for r in runs]), 3) for k in runs[0]["cores"]
        },
        "cpu_ms_per_call": {
            k: _round(_median([r["cpu_ms_per_call"].get(k) for r in runs]), 3)
            for k in runs[0]["cpu_ms_per_call"]
        },
    }


def _fmt(value: float | None, width: int, digits: int = 1) -> str:
    """A right-aligned number, or '-' when there is none; width 0 means no padding."""
    text = "-" if value is None else f"{value:.{digits}f}"
    return text.rjust(width)


def print_report(summary: dict, config: dict) -> None:
    c_list = config["concurrency"]
    cpus = os.cpu_count() or 1
    print()
    print(
        f"The compared workloads (shared/PERF_WORKLOADS.md): medians of {config['rounds']} "
        f"interleaved round(s) of {config['duration']:g} s (warm-up {config['warmup']:g} s); "
        f"{cpus} CPUs; gunicorn {config['gunicorn']['workers']} workers x "
        f"{config['gunicorn']['threads']} threads; Seattle's store manager"
    )
    header = (
        f"{'workload':<27}{'c':>3} | {'calls/s':>8}{'p50':>7}{'p95':>7}{'p99':>7}{'err':>4} | "
        f"{'web':>5}{'db':>6} | {'base/s':>7}{'p50':>7}{'web':>6}{'db':>7} | "
        f"{'ours/base':>13} | {'tenant q/s':>10}{'p50':>7} | {'owner q/s':>9}{'p50':>7}"
    )
    print(
        f"{'':<30} | {'MCP tools/call over HTTP (ms)':<33} | {'CPU ms':<11} | "
        f"{'baseline, same data':<27} | {'':<13} | {'SQL floor: tenant ctx':<17} | "
        f"{'SQL floor: owner':<16}"
    )
    print(header)
    print("-" * len(header))
    for row in config["rows"]:
        for c in c_list:
            mcp = summary.get(f"{row.key}/c{c}/mcp")
            if mcp is None:
                continue
            base = summary.get(f"{row.key}/c{c}/base") or {}
            tenant = summary.get(f"{row.key}/c{c}/sql") or {}
            owner = summary.get(f"{row.key}/c{c}/owner") or {}
            ours = mcp["throughput"] / base["throughput"] if base.get("throughput") else None
            wanted = aim(row.workload, c)
            verdict = "" if ours is None else (" ok" if ours >= wanted else " LOW")
            ratio = "-" if ours is None else f"{ours:.2f}x/{wanted:g}x{verdict}"
            per_call, base_call = mcp["cpu_ms_per_call"], base.get("cpu_ms_per_call") or {}
            print(
                f"{row.label:<27}{c:>3} | {_fmt(mcp['throughput'], 8)}"
                f"{_fmt(mcp['p50_ms'], 7, 2)}{_fmt(mcp.get('p95_ms'), 7, 2)}"
                f"{_fmt(mcp['p99_ms'], 7, 2)}{mcp['errors']:>4} | "
                f"{_fmt(per_call.get('server'), 5, 2)}{_fmt(per_call.get('postgres'), 6, 2)} | "
                f"{_fmt(base.get('throughput'), 7)}{_fmt(base.get('p50_ms'), 7, 2)}"
                f"{_fmt(base_call.get('server'), 6, 2)}{_fmt(base_call.get('postgres'), 7, 2)} | "
                f"{ratio:>13} | "
                f"{_fmt(tenant.get('throughput'), 10)}{_fmt(tenant.get('p50_ms'), 7, 2)} | "
                f"{_fmt(owner.get('throughput'), 9)}{_fmt(owner.get('p50_ms'), 7, 2)}"
            )
    print()
    print(
        f"  ours/base: our calls/s over the reference-shaped baseline's (bench/baseline_server.py),"
        f" measured in this run; aim >= {AIM:g}x on every compared row, {AIM_SELECT1:g}x for a at"
        " c=1."
    )
    print(
        "  web: the server's CPU per call (gunicorn, or the baseline's uvicorn); db: PostgreSQL's."
    )
    print("  cache: off for a, b and c (ZAVA_CACHE_SECONDS=0); the extra rows say theirs.")

    print()
    print(
        "CPU: ms of CPU per call (medians); the CPU ceiling, calls/s if server, PostgreSQL "
        f"and bench had all {cpus} CPUs; cores busy during the window"
    )
    cpu_header = (
        f"{'workload':<27}{'c':>3} {'run':>5} | {'server':>7}{'postgres':>9}{'bench':>7} | "
        f"{'ceiling':>8} | {'server':>7}{'postgres':>9}{'bench':>7}{'others':>7} | conns/worker"
    )
    print(
        f"{'':<36} | {'ms CPU per call':<23} | {'calls/s':>8} | {'cores busy':<30} | (each round)"
    )
    print(cpu_header)
    print("-" * len(cpu_header))
    busy_others = []
    for row in config["rows"]:
        for c in c_list:
            for mode in ("mcp", "base", "sql", "owner"):
                record = summary.get(f"{row.key}/c{c}/{mode}")
                if record is None:
                    continue
                per_call, cores = record["cpu_ms_per_call"], record["cores"]
                splits = record.get("connections_per_worker") or ""
                spent = sum(v for v in per_call.values() if v is not None)
                ceiling = cpus * 1000 / spent if spent else None
                print(
                    f"{row.label:<27}{c:>3} {mode.upper():>5} | "
                    f"{_fmt(per_call.get('server') if mode in ('mcp', 'base') else None, 7, 2)}"
                    f"{_fmt(per_call.get('postgres'), 9, 2)}{_fmt(per_call.get('bench'), 7, 2)} | "
                    f"{_fmt(ceiling, 8, 0)} | {_fmt(cores.get('server'), 7, 2)}"
                    f"{_fmt(cores.get('postgres'), 9, 2)}"
                    f"{_fmt(cores.get('bench'), 7, 2)}{_fmt(cores.get('others'), 7, 2)} | {splits}"
                )
                if (cores.get("others") or 0) > 0.15:
                    busy_others.append(f"{row.label.strip()} c={c} {mode}")
    if busy_others:
        print()
        print(
            "  WARNING: other processes used > 0.15 cores during: "
            + ", ".join(busy_others)
            + ". Those figures understate the server; rerun on an idle machine."
        )
    if config.get("explain"):
        print()
        print("Workload b as Seattle's manager, EXPLAIN (ANALYZE, BUFFERS) in the tenant context:")
        print("\n".join(f"  {line}" for line in config["explain"]))


def gunicorn_settings(environment: dict[str, str]) -> dict[str, int]:
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(environment)
        conf = runpy.run_path(str(ROOT / "zava" / "gunicorn_conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return {"workers": conf["workers"], "threads": conf["threads"]}


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{'+dirty' if dirty else ''}"


def _machine_busy(seconds: float = 1.0) -> float:
    """Cores busy before we start anything: another job would skew every figure."""
    first = busy_seconds()
    time.sleep(seconds)
    return (busy_seconds() - first) / seconds


def wait_for_idle(patience: float) -> float:
    """The cores busy now, after waiting up to ``patience`` s for them to drop."""
    deadline = time.monotonic() + patience
    busy = _machine_busy()
    while busy > 0.1 and time.monotonic() < deadline:
        busy = _machine_busy(3.0)
    return busy


def server_overrides(cache: str) -> dict[str, str]:
    """What the bench changes in a server's environment, and why.

    The per-token rate limit stays on the path but cannot trigger (the bench makes
    hundreds of calls a second with one token). A server for cache mode ``off`` has
    the answer cache turned off; the others leave it as configured (on by default).
    """
    overrides = {"ZAVA_RATE_LIMIT_PER_MINUTE": "1000000000"}
    if cache == "off":
        overrides["ZAVA_CACHE_SECONDS"] = "0"
    return overrides


def server_setting(mode: str) -> str:
    """The server a cache mode runs against: the cache-off one, or the default one."""
    return "off" if mode == "off" else "on"


def _mcp_answer(target: Target, workload: Workload) -> dict:
    status, body = post_once(target, tools_call_body(workload.tool, workload.arguments)(1))
    problem = check_shape(body) if status == 200 else f"http {status}"
    if problem:
        raise BenchError(f"{workload.label} through MCP: {problem}: {body[:500]!r}")
    return message_of(body)["result"]


def validate(target: Target, manager_id: uuid.UUID) -> str:
    """Each workload answers without error, and workload b's rows equal direct SQL's."""
    from retail.tenancy import run_as_tenant, tenant_cursor

    def direct() -> tuple[list[str], list[tuple]]:
        with tenant_cursor() as cursor:
            cursor.execute(REVENUE_SQL)
            return [column.name for column in cursor.description or ()], cursor.fetchall()

    by_key = {w.key: w for w in WORKLOADS}
    for workload in WORKLOADS:
        _mcp_answer(target, workload)
    one = answer_json(_mcp_answer(target, by_key["select1"]))
    if one.get("r") != [[1]]:
        raise BenchError(f"SELECT 1 through MCP answered {one}")

    answer = answer_json(_mcp_answer(target, by_key["revenue"]))
    columns, rows = run_as_tenant(manager_id, direct)
    if not rows:
        raise BenchError("Workload b returns no rows directly: is the database seeded?")
    same = (
        answer.get("c") == columns
        and answer.get("n") == len(rows)
        and all(
            got[0] == want[0]
            and all(
                abs(float(g) - float(w)) < 0.005 for g, w in zip(got[1:], want[1:], strict=True)
            )
            for got, want in zip(answer.get("r", []), rows, strict=True)
        )
    )
    if not same:
        raise BenchError(f"Workload b differs: MCP {answer} vs direct SQL {columns} {rows}")
    return f"workload b: {len(rows)} rows, MCP = direct SQL (top: {rows[0][0]})"


def baseline_dsn() -> str:
    """The reference-shaped database (built once, bench/baseline_database.py), as the
    baseline's role; its backends carry the bench's application_name for the CPU split."""
    import psycopg
    from django.conf import settings

    from bench import baseline_database

    database = settings.DATABASES["default"]
    if not settings.ZAVA_EMBEDDED_DB:
        raise BenchError("The baseline is built on the embedded PostgreSQL (unset DATABASE_URL).")

    def admin(dbname: str) -> psycopg.Connection:
        return psycopg.connect(host=database["HOST"], port=database["PORT"] or None,
                               user="postgres", dbname=dbname, autocommit=True)  # fmt: skip

    # The superuser reads every row of ours, whatever row-level security says.
    return (
        baseline_database.ensure(admin, lambda: admin(database["NAME"]))
        + f"&application_name={APP_NAME}"
    )


def visible_stores(manager_id: uuid.UUID) -> list[int]:
    """The stores row-level security shows the manager, for the owner's explicit filter."""
    from retail.tenancy import run_as_tenant, tenant_cursor

    def visible() -> list[int]:
        with tenant_cursor() as cursor:
            cursor.execute("SELECT retail.visible_store_ids()")
            return sorted(cursor.fetchone()[0])

    return run_as_tenant(manager_id, visible)


def explain_revenue(manager_id: uuid.UUID) -> list[str]:
    """Workload b's plan with timings and buffers, as the manager (after a warm-up run)."""
    from retail.tenancy import run_as_tenant, tenant_cursor

    def explained() -> list[str]:
        with tenant_cursor() as cursor:
            cursor.execute(REVENUE_SQL)
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + REVENUE_SQL)
            return [line for (line,) in cursor.fetchall()]

    return run_as_tenant(manager_id, explained)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up s before each run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (medians)")
    parser.add_argument("--concurrency", default="1,8", help="comma-separated client counts")
    parser.add_argument(
        "--workloads",
        default=",".join(w.key for w in WORKLOADS),
        help="comma-separated subset of: " + ", ".join(w.key for w in WORKLOADS),
    )
    parser.add_argument("--manager", default=SEATTLE_MANAGER, help="manager UUID or email")
    parser.add_argument(
        "--smoke", action="store_true", help="2 s per run, 1 round, c=1,2; exit 1 on any error"
    )
    parser.add_argument(
        "--no-extras",
        dest="extras",
        action="store_false",
        help="only the compared rows (skip b and c with the answer cache on)",
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for other programs to leave the CPUs before starting",
    )
    parser.add_argument("--output", type=Path, help="JSON file (default var/bench/...)")
    parser.add_argument(
        "--report", type=Path, metavar="JSON", help="print the tables of an earlier run and exit"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.warmup, args.rounds, args.concurrency = 2.0, 0.5, 1, "1,2"
        args.extras = False
    try:
        args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency takes integers, e.g. 1,8")
    known = {w.key: w for w in WORKLOADS}
    chosen = [k.strip() for k in args.workloads.split(",") if k.strip()]
    if not chosen or any(k not in known for k in chosen):
        parser.error(f"--workloads takes a subset of {', '.join(known)}")
    args.workloads = [known[k] for k in chosen]
    args.rows = [Row(w, w.cache) for w in args.workloads]
    if args.extras and "revenue" in chosen:
        args.rows += [Row(known["revenue"], "fresh"), Row(known["revenue"], "hits")]
    if args.extras and "schemas" in chosen:
        args.rows.append(Row(known["schemas"], "on"))
    if args.rounds < 1 or args.duration <= 0 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("rounds, duration and concurrency must be positive")
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def reprint(path: Path) -> int:
    report = json.loads(path.read_text())
    config = dict(report["config"])
    by_key = {w.key: w for w in WORKLOADS}
    config["rows"] = [Row(by_key[key], mode) for key, mode in config["rows"]]
    print(f"{path.name}: git {report['git']}, started {report['started_at']}")
    print_report(report["summary"], config)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report:
        return reprint(args.report)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench"
    output = args.output or out_dir / f"mcp_vs_sql-{stamp}.json"

    # Backends of the server and of this process carry our application_name, so that
    # the CPU of other programs' backends is not counted as PostgreSQL's for us.
    os.environ["PGAPPNAME"] = APP_NAME
    settings_needed = sorted({server_setting(row.mode) for row in args.rows})
    server_envs = {name: {**os.environ, **server_overrides(name)} for name in settings_needed}
    # This process widens its own pool so that the direct-SQL baseline can hold one
    # connection per client (plus the main thread's).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    os.environ["ZAVA_DB_POOL_MAX"] = str(max(8, *args.concurrency) + 2)
    import django

    django.setup()
    from django.db import connections

    from retail.services.tokens import manager_resolve, token_issue, token_revoke

    busy_before = wait_for_idle(args.wait_idle)
    if busy_before > 0.2:
        print(f"WARNING: the machine is busy before the start ({busy_before:.2f} cores used).")

    manager = manager_resolve(args.manager)
    issued = token_issue(manager=manager, name="bench")
    servers = {
        name: Server(out_dir / f"gunicorn-{stamp}-cache-{name}.log", environment)
        for name, environment in server_envs.items()
    }
    baseline_log = out_dir / f"baseline-{stamp}.log"
    baseline = Server(baseline_log, dict(os.environ), command=baseline_command(baseline_dsn()))
    postmaster = postgres_pid()
    config: dict[str, Any] = {
        "duration": args.duration,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "workloads": args.workloads,
        "gunicorn": gunicorn_settings(next(iter(server_envs.values()))),
        "server_environment": {name: server_overrides(name) for name in settings_needed},
        "rows": args.rows,
    }
    runs: dict[str, list[dict]] = {}
    interrupted = False
    meters: dict[str, CpuMeter] = {}
    try:
        targets = {}
        for name, server in servers.items():
            server.start()
            targets[name] = Target("127.0.0.1", server.port, issued.raw)
        baseline.start()
        base_target = Target(
            "127.0.0.1", baseline.port, headers=(("x-rls-user-id", str(manager.pk)),), session=True
        )
        for name, server in servers.items():
            server.wait_ready(targets[name])
        baseline.wait_ready(base_target)
        conninfo = meter_conninfo()
        for name, server in servers.items():
            assert server.process is not None
            meters[name] = CpuMeter(server.process.pid, postmaster, conninfo)
            print(
                f"gunicorn (answer cache {name}) pid {server.process.pid} on "
                f"127.0.0.1:{server.port} ({config['gunicorn']['workers']} workers x "
                f"{config['gunicorn']['threads']} threads); log "
                f"{server.log_path.relative_to(ROOT)} (kept on failure)"
            )
        assert baseline.process is not None
        base_meter = meters["baseline"] = CpuMeter(baseline.process.pid, postmaster, conninfo)
        print(
            f"baseline (bench/baseline_server.py) pid {baseline.process.pid} on "
            f"127.0.0.1:{baseline.port}; log {baseline.log_path.relative_to(ROOT)}"
        )
        print(f"manager {manager.pk}")
        print("validated:", validate(next(iter(targets.values())), manager.pk))
        print("baseline validated:", validate(base_target, manager.pk))
        stores = visible_stores(manager.pk)
        config["explain"] = explain_revenue(manager.pk)
        connections.close_all()  # the baseline's threads get the pool's connections

        for round_no in range(1, args.rounds + 1):
            for row in args.rows:
                setting = server_setting(row.mode)
                server, target, meter = servers[setting], targets[setting], meters[setting]
                workload = row.workload
                for c in args.concurrency:
                    key = f"{row.key}/c{c}"
                    window = Window.after(args.warmup, args.duration)
                    split = (server.process.pid, server.port) if c > 1 else None
                    probe = Probe(meter, window, split)
                    unique = "postgresql_query" if workload.sql and row.mode == "fresh" else None
                    body = tools_call_body(workload.tool, workload.arguments, unique_sql=unique)
                    stats = run_closed_loop(target, body, c, window)
                    record = _run_record(round_no, stats, *probe.result())
                    runs.setdefault(f"{key}/mcp", []).append(record)
                    _progress(round_no, args.rounds, row, c, "MCP", record)
                    if not row.compared:
                        continue
                    window = Window.after(args.warmup, args.duration)
                    probe = Probe(base_meter, window, None)
                    stats = run_closed_loop(base_target, body, c, window)
                    record = _run_record(round_no, stats, *probe.result())
                    runs.setdefault(f"{key}/base", []).append(record)
                    _progress(round_no, args.rounds, row, c, "BASE", record)
                    if workload.sql is None:
                        continue
                    floors = {"sql": None, "owner": stores}
                    for floor, owner_stores in floors.items():
                        statement = workload.sql if owner_stores is None else workload.owner_sql
                        assert statement is not None
                        threads, window, stats = run_sql(
                            statement,
                            manager.pk,
                            c,
                            args.warmup,
                            args.duration,
                            owner_stores=owner_stores,
                        )
                        probe = Probe(meter, window, None)
                        for thread in threads:
                            thread.join()
                        record = _run_record(round_no, stats, *probe.result())
                        runs.setdefault(f"{key}/{floor}", []).append(record)
                        _progress(round_no, args.rounds, row, c, floor.upper(), record)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping the server", file=sys.stderr)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        for server in (*servers.values(), baseline):
            server.stop()
        for meter in meters.values():
            meter.close()
        with contextlib.suppress(Exception):
            token_revoke(token=issued.token)

    if not runs:
        return 130 if interrupted else 2
    summary = {key: summarise(records) for key, records in runs.items()}
    for key, records in runs.items():
        splits = [r["connections_per_worker"] for r in records if r["connections_per_worker"]]
        summary[key]["connections_per_worker"] = " ".join("/".join(map(str, s)) for s in splits)
    print_report(summary, config)
    errors = sum(row["errors"] for row in summary.values())

    output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "started_at": stamp,
        "interrupted": interrupted,
        "git": git_revision(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "busy_before_start_cores": round(busy_before, 3),
        },
        "config": {
            **config,
            "workloads": [w.key for w in args.workloads],
            "rows": [(row.workload.key, row.mode) for row in args.rows],
            "smoke": args.smoke,
        },
        "manager": str(manager.pk),
        "workloads": {
            w.key: {"label": w.label, "tool": w.tool, "arguments": w.arguments, "sql": w.sql}
            for w in args.workloads
        },
        "summary": summary,
        "runs": runs,
        "errors": errors,
    }
    output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    if errors:
        samples = {r["error_sample"] for rs in runs.values() for r in rs if r["error_sample"]}
        print(f"{errors} call(s) failed; e.g. {sorted(samples)[:3]}", file=sys.stderr)
    if interrupted:
        return 130
    logs = [server.log_path for server in (*servers.values(), baseline)]
    if errors:
        print(f"server logs: {', '.join(map(str, logs))}", file=sys.stderr)
        return 1
    for log in logs:
        log.unlink(missing_ok=True)  # tens of MB per run, only needed on failure
    return 0


def _progress(round_no: int, rounds: int, row: Row, c: int, mode: str, run: dict) -> None:
    cores = run["cores"]
    print(
        f"round {round_no}/{rounds}  {row.label.strip():<24} c={c:<2} {mode:<5}  "
        f"{run['throughput']:8.1f}/s  p50 {_fmt(run['p50_ms'], 0, 2)} ms  "
        f"p99 {_fmt(run['p99_ms'], 0, 2)} ms  errors {sum(run['errors'].values())}  "
        f"[cores: server {cores['server']:.2f} pg {cores['postgres']:.2f} "
        f"bench {cores['bench']:.2f} others {cores['others']:.2f}]"
        + (
            f"  conns/worker {'/'.join(map(str, split))}"
            if (split := run["connections_per_worker"])
            else ""
        ),
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
