"""Gunicorn settings for ``make run``: threaded workers sized for a small machine."""

import multiprocessing
import os

from zava.observability import gunicorn_hooks

workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = None  # the application logs each request itself

# Prometheus multiprocess mode: a fresh metrics directory per server, dead workers'
# gauges dropped (see zava/observability/gunicorn_hooks.py).
on_starting = gunicorn_hooks.on_starting
child_exit = gunicorn_hooks.child_exit
on_exit = gunicorn_hooks.on_exit
