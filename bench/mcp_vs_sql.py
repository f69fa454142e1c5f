"""MCP tool calls over HTTP against the same SQL run directly, on the seeded database.

Starts the production server (gunicorn with ``zava/gunicorn_conf.py``) on a free
local port, issues a bench token for the Seattle store manager, checks that the
revenue query answers the same rows through MCP as directly, then measures each
workload at each concurrency, interleaved round-robin for ``--rounds`` rounds, and
reports medians next to the reference's published figures. The direct-SQL baseline
runs the same statement with psycopg inside the same tenant context (the same
row-level-security work), one thread and connection per client. The server is
stopped and the token revoked at the end, also on Ctrl-C or error.

    .venv/bin/python bench/mcp_vs_sql.py                       # 3 rounds of 10 s, c=1,8
    .venv/bin/python bench/mcp_vs_sql.py --duration 20         # the reference's 3 x 20 s
    .venv/bin/python bench/mcp_vs_sql.py --smoke               # CI: 2 s, c=1,2, exit 1 on errors
    .venv/bin/python bench/mcp_vs_sql.py --report var/bench/mcp_vs_sql-<stamp>.json

Each ``execute_sales_query`` call is a new question for the server's answer cache
(``--cache fresh``, the default), so it runs its SQL; ``--cache hits`` and
``--cache off`` measure the other two cases.

Results are printed and written to ``var/bench/mcp_vs_sql-<timestamp>.json``.
See bench/README.md for how to read them.
"""

from __future__ import annotations

import argparse
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
    post_once,
    run_closed_loop,
    tools_call_body,
)

ROOT = Path(__file__).resolve().parents[1]
APP_NAME = "zava-bench"  # PostgreSQL application_name of the server's and our backends
SEATTLE_MANAGER = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
AIM = 1.5  # our calls/s over the reference's, on every row

REVENUE_SQL = """SELECT c.category_name, SUM(oi.total_amount) AS revenue
FROM retail.order_items AS oi
JOIN retail.products AS p ON p.product_id = oi.product_id
JOIN retail.categories AS c ON c.category_id = p.category_id
JOIN retail.orders AS o ON o.order_id = oi.order_id
WHERE o.order_date >= DATE '2024-01-01' AND o.order_date < DATE '2025-01-01'
GROUP BY c.category_name
ORDER BY revenue DESC"""


@dataclass(frozen=True)
class Workload:
    key: str
    label: str
    tool: str
    arguments: dict[str, Any]
    sql: str | None  # the direct-SQL baseline, if there is one


WORKLOADS = [
    Workload(
        "select1",
        "SELECT 1",
        "execute_sales_query",
        {"postgresql_query": "SELECT 1 AS x"},
        "SELECT 1 AS x",
    ),
    Workload(
        "revenue",
        "revenue by category",
        "execute_sales_query",
        {"postgresql_query": REVENUE_SQL},
        REVENUE_SQL,
    ),
    Workload(
        "schemas",
        "table schemas",
        "get_multiple_table_schemas",
        {"table_names": ["retail.orders"]},
        None,
    ),
]

# The reference's published table: (calls/s, p50 ms) per workload and concurrency.
REFERENCE = {
    ("select1", 1): (164, 5.9),
    ("select1", 8): (231, 31.0),
    ("revenue", 1): (26, 36.0),
    ("revenue", 8): (50, 155.0),
    ("schemas", 1): (157, 6.0),
    ("schemas", 8): (246, 31.0),
}
# Its SQL floor for the revenue query: p50 at c=1, queries/s at c=8.
REFERENCE_SQL_FLOOR = {("revenue", 1): ("p50_ms", 28.0), ("revenue", 8): ("throughput", 63.0)}


# How the runs meet the server's answer cache (see --cache).
CACHE_MODES = {
    "fresh": "on, every query a new question (runs its SQL); schema values cached",
    "off": "off (ZAVA_CACHE_SECONDS=0): every call computes everything",
    "hits": "on, the same questions repeated: cache hits",
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


@dataclass
class CpuSample:
    when: float
    busy: float
    table: dict[int, tuple[int, float]]
    foreign: set[int]  # PostgreSQL backends serving other programs


class CpuMeter:
    """CPU used by the server, PostgreSQL and this process between two samples.

    PostgreSQL counts the postmaster's children (auxiliary processes included) except
    the backends of other programs: the server and this process connect with
    application_name ``zava-bench``, so the others are told apart in pg_stat_activity.
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
        return CpuSample(time.perf_counter(), busy_seconds(), _process_table(), foreign)

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
            cores[name] = used / elapsed
        total = (last.busy - first.busy) / elapsed
        cores["others"] = max(total - sum(cores.values()), 0.0)
        return {name: round(value, 3) for name, value in cores.items()}


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


class Server:
    """gunicorn as ``make serve`` runs it, on a free port, in its own process group."""

    def __init__(self, log_path: Path, environment: dict[str, str], root: Path = ROOT) -> None:
        self.log_path = log_path
        self.environment = environment
        self.root = root  # the checkout whose code it serves
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [
            str(gunicorn),
            "zava.wsgi:application",
            "--config",
            "zava/gunicorn_conf.py",
            "--bind",
            f"127.0.0.1:{self.port}",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
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
                raise BenchError(f"gunicorn exited early; see {self.log_path}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, body = post_once(target, ping)
                if status == 200 and b'"result"' in body:
                    return
                raise BenchError(f"ping answered {status}: {body[:300]!r}")
            time.sleep(0.25)
        raise BenchError(f"gunicorn not ready after {timeout:.0f} s; see {self.log_path}")

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
    sql: str, manager_id: uuid.UUID, concurrency: int, warmup: float, duration: float
) -> tuple[list[threading.Thread], Window, RunStats]:
    """The statement in a closed loop, one thread and connection per client, each
    query in its own tenant transaction (what one MCP call opens)."""
    from django.db import connections

    from retail.tenancy import tenant_context

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
                with tenant_context(manager_id):
                    pass  # take a connection before the clock starts
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
                    with (
                        tenant_context(manager_id) as context,
                        context.connection.connection.cursor() as cursor,
                    ):
                        cursor.execute(sql)
                        cursor.fetchall()
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
    print()
    print(
        f"MCP vs direct SQL: medians of {config['rounds']} interleaved round(s) of "
        f"{config['duration']:g} s (warm-up {config['warmup']:g} s); {os.cpu_count()} CPUs; "
        f"gunicorn {config['gunicorn']['workers']} workers x {config['gunicorn']['threads']} "
        f"threads\nanswer cache: {CACHE_MODES[config['cache']]}"
    )
    header = (
        f"{'workload':<20}{'c':>3} | {'calls/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'errors':>7} | "
        f"{'SQL q/s':>8}{'p50 ms':>8}{'p99 ms':>8} | {'MCP/SQL':>7}{'+p50 ms':>8} | "
        f"{'ref/s':>6}{'ref p50':>8} | {'ours/ref':>9}"
    )
    print(
        f"{'':<23} | {'MCP tools/call over HTTP':<31} | {'direct SQL (tenant ctx)':<24} "
        f"| {'overhead':<15} | {'reference':<14} |"
    )
    print(header)
    print("-" * len(header))
    notes = []
    for workload in config["workloads"]:
        for c in c_list:
            mcp = summary.get(f"{workload.key}/c{c}/mcp")
            sql = summary.get(f"{workload.key}/c{c}/sql")
            if mcp is None:
                continue
            ratio = gap = None
            if sql and sql["throughput"] and mcp["throughput"] is not None:
                ratio = mcp["throughput"] / sql["throughput"]
            if sql and sql["p50_ms"] is not None and mcp["p50_ms"] is not None:
                gap = mcp["p50_ms"] - sql["p50_ms"]
            reference = REFERENCE.get((workload.key, c))
            ours = mcp["throughput"] / reference[0] if reference and mcp["throughput"] else None
            verdict = "" if ours is None else (" ok" if ours >= AIM else " LOW")
            print(
                f"{workload.label:<20}{c:>3} | {_fmt(mcp['throughput'], 8)}"
                f"{_fmt(mcp['p50_ms'], 8, 2)}{_fmt(mcp['p99_ms'], 8, 2)}{mcp['errors']:>7} | "
                f"{_fmt(sql and sql['throughput'], 8)}{_fmt(sql and sql['p50_ms'], 8, 2)}"
                f"{_fmt(sql and sql['p99_ms'], 8, 2)} | {_fmt(ratio, 7, 2)}"
                f"{_fmt(gap, 8, 2)} | {_fmt(reference and reference[0], 6, 0)}"
                f"{_fmt(reference and reference[1], 8, 1)} | "
                f"{'-' if ours is None else f'{ours:.2f}x':>5}{verdict}"
            )
            floor = REFERENCE_SQL_FLOOR.get((workload.key, c))
            if floor and sql:
                metric, value = floor
                unit = "ms p50" if metric == "p50_ms" else "queries/s"
                notes.append(
                    f"{workload.label} c={c}: reference SQL floor {value:g} {unit}, "
                    f"ours {_fmt(sql[metric], 0, 1).strip()} {unit}"
                )
    print()
    for note in notes:
        print(f"  {note}")
    print(f"  aim: >= {AIM}x the reference's calls/s on every row ('ok' / 'LOW').")

    print()
    cpus = os.cpu_count() or 1
    print(
        "CPU: ms of CPU per call (medians); the CPU ceiling, calls/s if server, PostgreSQL "
        f"and bench had all {cpus} CPUs; cores busy during the window"
    )
    cpu_header = (
        f"{'workload':<20}{'c':>3} {'run':>4} | {'server':>7}{'postgres':>9}{'bench':>7} | "
        f"{'ceiling':>8} | {'server':>7}{'postgres':>9}{'bench':>7}{'others':>7} | conns/worker"
    )
    print(
        f"{'':<28} | {'ms CPU per call':<23} | {'calls/s':>8} | {'cores busy':<30} | (each round)"
    )
    print(cpu_header)
    print("-" * len(cpu_header))
    busy_others = []
    for workload in config["workloads"]:
        for c in c_list:
            for mode in ("mcp", "sql"):
                row = summary.get(f"{workload.key}/c{c}/{mode}")
                if row is None:
                    continue
                per_call, cores = row["cpu_ms_per_call"], row["cores"]
                splits = row.get("connections_per_worker") or ""
                spent = sum(v for v in per_call.values() if v is not None)
                ceiling = cpus * 1000 / spent if spent else None
                print(
                    f"{workload.label:<20}{c:>3} {mode.upper():>4} | "
                    f"{_fmt(per_call.get('server') if mode == 'mcp' else None, 7, 2)}"
                    f"{_fmt(per_call.get('postgres'), 9, 2)}{_fmt(per_call.get('bench'), 7, 2)} | "
                    f"{_fmt(ceiling, 8, 0)} | {_fmt(cores.get('server'), 7, 2)}"
                    f"{_fmt(cores.get('postgres'), 9, 2)}"
                    f"{_fmt(cores.get('bench'), 7, 2)}{_fmt(cores.get('others'), 7, 2)} | {splits}"
                )
                if (cores.get("others") or 0) > 0.15:
                    busy_others.append(f"{workload.label} c={c} {mode}")
    if busy_others:
        print()
        print(
            "  WARNING: other processes used > 0.15 cores during: "
            + ", ".join(busy_others)
            + ". Those figures understate the server; rerun on an idle machine."
        )


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


def server_overrides(args: argparse.Namespace) -> dict[str, str]:
    """What the bench changes in the server's environment, and why.

    The per-token rate limit stays on the path but cannot trigger (the bench makes
    hundreds of calls a second with one token). ``--cache off`` turns the answer
    cache off; the other modes leave it as configured (on by default).
    """
    overrides = {"ZAVA_RATE_LIMIT_PER_MINUTE": "1000000000"}
    if args.cache == "off":
        overrides["ZAVA_CACHE_SECONDS"] = "0"
    return overrides


def _mcp_answer(target: Target, workload: Workload) -> dict:
    status, body = post_once(target, tools_call_body(workload.tool, workload.arguments)(1))
    problem = check_shape(body) if status == 200 else f"http {status}"
    if problem:
        raise BenchError(f"{workload.label} through MCP: {problem}: {body[:500]!r}")
    return json.loads(body)["result"]


def validate(target: Target, manager_id: uuid.UUID) -> str:
    """Each workload answers without error, and the revenue rows equal direct SQL's."""
    from retail.tenancy import tenant_context

    by_key = {w.key: w for w in WORKLOADS}
    for workload in WORKLOADS:
        _mcp_answer(target, workload)
    one = answer_json(_mcp_answer(target, by_key["select1"]))
    if one.get("r") != [[1]]:
        raise BenchError(f"SELECT 1 through MCP answered {one}")

    answer = answer_json(_mcp_answer(target, by_key["revenue"]))
    with tenant_context(manager_id) as context, context.cursor() as cursor:
        cursor.execute(REVENUE_SQL)
        columns = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    if not rows:
        raise BenchError("The revenue query returns no rows directly: is the database seeded?")
    same = (
        answer.get("c") == columns
        and answer.get("n") == len(rows)
        and len(answer.get("r", [])) == len(rows)
        and all(
            got[0] == want[0] and abs(float(got[1]) - float(want[1])) < 0.005
            for got, want in zip(answer["r"], rows, strict=True)
        )
    )
    if not same:
        raise BenchError(f"Revenue differs: MCP {answer} vs direct SQL {columns} {rows}")
    return f"revenue by category: {len(rows)} rows, MCP = direct SQL (top: {rows[0][0]})"


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
        "--cache",
        choices=sorted(CACHE_MODES),
        default="fresh",
        help="the server's answer cache: 'fresh' (default: on, but every query is a new "
        "question and runs its SQL), 'off' (nothing cached), 'hits' (repeated questions)",
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
    try:
        args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    except ValueError:
        parser.error("--concurrency takes integers, e.g. 1,8")
    known = {w.key: w for w in WORKLOADS}
    chosen = [k.strip() for k in args.workloads.split(",") if k.strip()]
    if not chosen or any(k not in known for k in chosen):
        parser.error(f"--workloads takes a subset of {', '.join(known)}")
    args.workloads = [known[k] for k in chosen]
    if args.rounds < 1 or args.duration <= 0 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("rounds, duration and concurrency must be positive")
    return args


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def reprint(path: Path) -> int:
    report = json.loads(path.read_text())
    config = dict(report["config"])
    config["workloads"] = [w for w in WORKLOADS if w.key in config["workloads"]]
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
    server_env = {**os.environ, **server_overrides(args)}
    # This process widens its own pool so that the direct-SQL baseline can hold one
    # connection per client (plus the main thread's).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zava.settings")
    os.environ["ZAVA_DB_POOL_MAX"] = str(max(8, *args.concurrency) + 2)
    import django

    django.setup()
    from django.conf import settings
    from django.db import connections

    from retail.services.tokens import manager_resolve, token_issue, token_revoke

    busy_before = wait_for_idle(args.wait_idle)
    if busy_before > 0.2:
        print(f"WARNING: the machine is busy before the start ({busy_before:.2f} cores used).")

    manager = manager_resolve(args.manager)
    issued = token_issue(manager=manager, name="bench")
    server = Server(out_dir / f"gunicorn-{stamp}.log", server_env)
    postgres_pid = None
    if settings.ZAVA_EMBEDDED_DB:
        with contextlib.suppress(OSError, ValueError):
            pid_file = Path(settings.DATABASES["default"]["HOST"]) / "postmaster.pid"
            postgres_pid = int(pid_file.read_text().split("\n", 1)[0])
    config: dict[str, Any] = {
        "duration": args.duration,
        "warmup": args.warmup,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "workloads": args.workloads,
        "gunicorn": gunicorn_settings(server_env),
        "server_environment": server_overrides(args),
        "cache": args.cache,
    }
    runs: dict[str, list[dict]] = {}
    interrupted = False
    meter: CpuMeter | None = None
    try:
        server.start()
        assert server.process is not None
        target = Target("127.0.0.1", server.port, issued.raw)
        server.wait_ready(target)
        database = settings.DATABASES["default"]
        conninfo = {
            "host": database["HOST"],
            "port": database["PORT"],
            "user": database["USER"],
            "password": database["PASSWORD"],
            "dbname": database["NAME"],
        }
        meter = CpuMeter(server.process.pid, postgres_pid, {k: v for k, v in conninfo.items() if v})
        print(
            f"gunicorn pid {server.process.pid} on 127.0.0.1:{server.port} "
            f"({config['gunicorn']['workers']} workers x {config['gunicorn']['threads']} threads); "
            f"manager {manager.pk}; log {server.log_path.relative_to(ROOT)} (kept on failure)"
        )
        print("validated:", validate(target, manager.pk))
        connections.close_all()  # the baseline's threads get the pool's connections
        print(
            "server settings for the bench: "
            + ", ".join(f"{k}={v}" for k, v in config["server_environment"].items())
        )

        for round_no in range(1, args.rounds + 1):
            for workload in args.workloads:
                for c in args.concurrency:
                    key = f"{workload.key}/c{c}"
                    window = Window.after(args.warmup, args.duration)
                    split = (server.process.pid, server.port) if c > 1 else None
                    probe = Probe(meter, window, split)
                    unique = "postgresql_query" if workload.sql and args.cache == "fresh" else None
                    body = tools_call_body(workload.tool, workload.arguments, unique_sql=unique)
                    stats = run_closed_loop(target, body, c, window)
                    record = _run_record(round_no, stats, *probe.result())
                    runs.setdefault(f"{key}/mcp", []).append(record)
                    _progress(round_no, args.rounds, workload, c, "MCP", record)
                    if workload.sql is None:
                        continue
                    threads, window, stats = run_sql(
                        workload.sql, manager.pk, c, args.warmup, args.duration
                    )
                    probe = Probe(meter, window, None)
                    for thread in threads:
                        thread.join()
                    record = _run_record(round_no, stats, *probe.result())
                    runs.setdefault(f"{key}/sql", []).append(record)
                    _progress(round_no, args.rounds, workload, c, "SQL", record)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping the server", file=sys.stderr)
    except BenchError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        return 2
    finally:
        server.stop()
        if meter is not None:
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
        "config": {**config, "workloads": [w.key for w in args.workloads], "smoke": args.smoke},
        "manager": str(manager.pk),
        "workloads": {
            w.key: {"label": w.label, "tool": w.tool, "arguments": w.arguments, "sql": w.sql}
            for w in args.workloads
        },
        "reference": {
            f"{k}/c{c}": {"throughput": v[0], "p50_ms": v[1]} for (k, c), v in REFERENCE.items()
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
    if errors:
        print(f"server log: {server.log_path}", file=sys.stderr)
        return 1
    server.log_path.unlink(missing_ok=True)  # tens of MB per run, only needed on failure
    return 0


def _progress(round_no: int, rounds: int, workload: Workload, c: int, mode: str, run: dict) -> None:
    cores = run["cores"]
    print(
        f"round {round_no}/{rounds}  {workload.label:<20} c={c:<2} {mode}  "
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
