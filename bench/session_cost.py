"""What a short MCP session costs: ``initialize``, ``tools/list`` and one tool call.

A client that connects, lists the tools and asks one question sends four POSTs:
``initialize``, the ``notifications/initialized`` notification, ``tools/list`` and a
``tools/call``. Only the call reads tenant data. This bench measures how many such
sessions per second the production server (gunicorn, ``zava/gunicorn_conf.py``)
completes, closed loop, with ``--clients`` concurrent clients on keep-alive
connections, each session's call a new question for the answer cache (so its SQL
runs).

With ``--before PATH`` it serves a second checkout (another commit of this project,
e.g. ``git worktree add /tmp/before main`` or ``git archive main | tar -x -C ...``,
with ``.venv`` linked) on the same database and interleaves the two round by round,
alternating which goes first, so that a noisy moment of a shared machine hits both;
it reports the median over rounds of each side.

    .venv/bin/python bench/session_cost.py                              # this checkout
    .venv/bin/python bench/session_cost.py --before /tmp/before --rounds 7

Results are printed and written to ``var/bench/session_cost-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.loadgen import Connection, Target, Window, percentile, tools_call_body
from bench.mcp_vs_sql import ROOT, BenchError, Server, git_revision

MANAGER = "seattle.manager@zava.example"
QUERY = "SELECT store_name FROM retail.stores ORDER BY store_id"
INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "zava-bench", "version": "1"},
        },
    }
).encode()
INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'
TOOLS_LIST = b'{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
CALL = tools_call_body(
    "execute_sales_query", {"postgresql_query": QUERY}, unique_sql="postgresql_query"
)


@dataclass
class SessionStats:
    duration: float
    latencies: list[float] = field(default_factory=list)  # seconds per whole session
    errors: list[str] = field(default_factory=list)

    @property
    def sessions_per_s(self) -> float:
        return len(self.latencies) / self.duration


def _problem(step: str, status: int, body: bytes) -> str | None:
    if step == "notification":
        return None if status == 202 else f"{step}: http {status}"
    if status != 200:
        return f"{step}: http {status}"
    if b'"error":' in body or b'"isError":true' in body:
        return f"{step}: {body[:200]!r}"
    return None


async def _client(target: Target, window: Window, stats: SessionStats, numbers) -> None:
    connection = Connection(target)
    clock = time.perf_counter
    try:
        while clock() < window.end:
            steps = [
                ("initialize", INITIALIZE),
                ("notification", INITIALIZED),
                ("tools/list", TOOLS_LIST),
                ("tools/call", CALL(next(numbers))),
            ]
            started, problem = clock(), None
            for step, body in steps:
                status, payload, keep_alive = await connection.post(body)
                problem = problem or _problem(step, status, payload)
                if not keep_alive:
                    connection.close()
            done = clock()
            if window.start <= done <= window.end:
                if problem is None:
                    stats.latencies.append(done - started)
                else:
                    stats.errors.append(problem)
    finally:
        connection.close()


def run_sessions(target: Target, clients: int, warmup: float, duration: float) -> SessionStats:
    async def main() -> SessionStats:
        window = Window.after(warmup, duration)
        stats = SessionStats(duration=duration)
        numbers = iter(range(1, 10**9))
        await asyncio.gather(*(_client(target, window, stats, numbers) for _ in range(clients)))
        return stats

    return asyncio.run(main())


def _manage(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, capture_output=True, text=True
    )
    if result.returncode:
        raise BenchError(f"manage.py {args[0]} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout to compare with")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--duration", type=float, default=8, help="seconds measured per run (8)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds before measuring (2)")
    args = parser.parse_args(argv)

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "var" / "bench"
    environment = {
        **os.environ,
        "ZAVA_RATE_LIMIT_PER_MINUTE": "1000000000",  # on the path, never refusing
        "ZAVA_PGDATA": os.environ.get("ZAVA_PGDATA", str(ROOT / "var" / "pgdata")),
        "PGAPPNAME": "zava-bench",
    }
    sides = {"after": ROOT}
    if args.before is not None:
        sides = {"before": args.before.resolve(), "after": ROOT}
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with contextlib.ExitStack() as stack:
        token = _manage("issue_token", MANAGER, "--name", "session-bench").splitlines()[-1]
        stack.callback(_manage, "revoke_token", token)
        targets = {}
        for side, root in sides.items():
            server = Server(out_dir / f"gunicorn-session-{side}-{stamp}.log", environment, root)
            server.start()
            stack.callback(server.stop)
            targets[side] = Target("127.0.0.1", server.port, token)
            server.wait_ready(targets[side])
        order = list(sides)
        for round_no in range(1, args.rounds + 1):
            for side in order if round_no % 2 else reversed(order):
                stats = run_sessions(targets[side], args.clients, args.warmup, args.duration)
                if stats.errors:
                    raise BenchError(
                        f"{side}: {len(stats.errors)} errors, first: {stats.errors[0]}"
                    )
                run = {
                    "round": round_no,
                    "sessions_per_s": round(stats.sessions_per_s, 1),
                    "p50_ms": round(percentile(stats.latencies, 50) * 1000, 2),
                }
                results[side].append(run)
                print(f"round {round_no} {side:>6}: {run['sessions_per_s']:7.1f} sessions/s, "
                      f"session p50 {run['p50_ms']:6.2f} ms")  # fmt: skip
    summary = {
        side: {
            "sessions_per_s": statistics.median(r["sessions_per_s"] for r in runs),
            "requests_per_s": 4 * statistics.median(r["sessions_per_s"] for r in runs),
            "session_p50_ms": statistics.median(r["p50_ms"] for r in runs),
            "runs": runs,
        }
        for side, runs in results.items()
    }
    print(f"\nmedian of {args.rounds} interleaved rounds, {args.clients} clients, "
          f"{args.duration:.0f} s each (a session = 4 POSTs):")  # fmt: skip
    for side, figures in summary.items():
        print(f"  {side:>6} ({sides[side]}): {figures['sessions_per_s']:7.1f} sessions/s "
              f"({figures['requests_per_s']:.0f} requests/s), "
              f"session p50 {figures['session_p50_ms']:.2f} ms")  # fmt: skip
    config = {**vars(args), "before": str(args.before), "revision": git_revision()}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"session_cost-{stamp}.json"
    path.write_text(json.dumps({"config": config, "summary": summary}, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
