"""The gunicorn hooks: a clean metrics directory per server, dead workers' gauges gone."""

from __future__ import annotations

import os
from types import SimpleNamespace

from infrastructure.observability import gunicorn_hooks


def test_the_gunicorn_hooks_start_clean_and_forget_dead_workers(tmp_path, monkeypatch):
    # The hooks write both variables into os.environ. delenv alone records nothing to
    # undo for a variable that is not set, so it would leak into later tests' servers.
    for name in ("PROMETHEUS_MULTIPROC_DIR", "ZAVA_PROMETHEUS_DIR_OWNED"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    dead = tmp_path / "999999999"
    dead.mkdir()
    (dead / "counter_1.db").write_bytes(b"old")

    path = gunicorn_hooks.prepare_multiprocess_dir(tmp_path)
    assert path.parent == tmp_path and path.is_dir() and not list(path.iterdir())
    assert not dead.exists()
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(path)

    (path / "gauge_livesum_4242.db").write_bytes(b"")
    (path / "counter_4242.db").write_bytes(b"")
    gunicorn_hooks.child_exit(None, SimpleNamespace(pid=4242))
    assert not (path / "gauge_livesum_4242.db").exists()
    assert (path / "counter_4242.db").exists()  # a dead worker's counts still count

    gunicorn_hooks.on_exit(None)
    assert not path.exists()
