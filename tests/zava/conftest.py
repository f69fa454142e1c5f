"""A private gunicorn for tests that need their own server settings."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connections

from tests.conftest import LiveServer, _free_port, _wait_until_serving


@contextmanager
def private_server(log: Path, **env: str) -> Iterator[LiveServer]:
    """gunicorn on the test database with ``env`` on top of the test environment."""
    port = _free_port()
    full_env = {
        **os.environ,
        "ZAVA_DB_NAME": connections["default"].settings_dict["NAME"],
        "ZAVA_RATE_LIMIT_PER_MINUTE": "0",
        "ZAVA_AUTH_FAILURES_PER_MINUTE": "0",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "4",
        "ZAVA_LOG_FORMAT": "json",  # tests read the log lines back
        **env,
    }
    full_env.pop("SENTRY_DSN", None)  # tests send nothing anywhere
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "zava.wsgi:application",
                "--config",
                "zava/gunicorn_conf.py",
                "--bind",
                f"127.0.0.1:{port}",
            ],
            cwd=settings.BASE_DIR,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(url=f"http://127.0.0.1:{port}", log=log)
    try:
        _wait_until_serving(server, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
