"""Gunicorn server hooks that make Prometheus metrics add up across workers.

prometheus-client's multiprocess mode keeps each worker's values in files under
``PROMETHEUS_MULTIPROC_DIR``. That directory must be empty when the server starts
(or counters from an earlier run are added in) and the live gauges of a worker that
exits must be dropped. Without an explicit ``PROMETHEUS_MULTIPROC_DIR`` each server
gets its own ``var/prometheus/<master pid>`` so that several servers on one machine
(a dev server beside test servers) never mix or wipe each other's files.

Imported by ``zava/gunicorn_conf.py`` in the master process: nothing here imports
Django or prometheus-client at import time.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "var" / "prometheus"
_OWNED = "ZAVA_PROMETHEUS_DIR_OWNED"  # set when the directory is ours to delete


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_multiprocess_dir(root: Path = DEFAULT_ROOT) -> Path:
    """Point ``PROMETHEUS_MULTIPROC_DIR`` at an empty directory before workers fork."""
    configured = os.environ.get(ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink(missing_ok=True)
        return path
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():  # left behind by servers that were killed
        if old.is_dir() and old.name.isdigit() and not _alive(int(old.name)):
            shutil.rmtree(old, ignore_errors=True)
    path = root / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    os.environ[ENV] = str(path)
    os.environ[_OWNED] = "1"
    return path


def on_starting(server: Any) -> None:
    prepare_multiprocess_dir()


def child_exit(server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges (pool sizes) must stop counting."""
    from prometheus_client import multiprocess

    if os.environ.get(ENV):
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    path = os.environ.get(ENV)
    if path and os.environ.get(_OWNED):
        shutil.rmtree(path, ignore_errors=True)
