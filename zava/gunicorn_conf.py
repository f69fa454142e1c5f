"""Gunicorn settings for ``make run``: threaded workers sized for a small machine."""

import multiprocessing
import os

from infrastructure.observability import gunicorn_hooks

# Keep-alive connections stay with the worker that accepted them, and a worker runs one
# Python thread at a time: more processes with fewer threads spread concurrent
# clients over the cores (bench/mcp_vs_sql.py: +15% calls/s at 8 clients on 2 cores).
workers = int(os.environ.get("WEB_CONCURRENCY", min(8, 2 * multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = 60
graceful_timeout = 20
# Idle keep-alive connections are closed after this many seconds. It must outlast the
# clients' own idle expiry (httpx, the Python MCP SDK's HTTP client: 5 s), or a
# client may send its next call just as the server closes the connection, and lose it
# ("server disconnected"). An idle connection costs a gthread worker a poller entry, not
# a thread. 75 s is also above the usual load balancer idle timeout (60 s).
keepalive = 75
accesslog = None  # the application logs each request itself
# Each worker's heartbeat touches a file on every loop turn; in memory, not on disk.
# (gunicorn makes that file with mkstemp and unlinks it at once: nothing to guess.)
SHARED_MEMORY = "/dev/shm"  # noqa: S108
if os.path.isdir(SHARED_MEMORY):
    worker_tmp_dir = SHARED_MEMORY

# Prometheus multiprocess mode: a fresh metrics directory per server, dead workers'
# gauges dropped (see infrastructure/observability/gunicorn_hooks.py).
on_starting = gunicorn_hooks.on_starting
child_exit = gunicorn_hooks.child_exit
on_exit = gunicorn_hooks.on_exit
