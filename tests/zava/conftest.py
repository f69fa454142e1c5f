"""A private gunicorn for tests that need their own server settings."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from tests.conftest import LiveServer, gunicorn_server, server_environment


def private_server(log: Path, **env: str) -> AbstractContextManager[LiveServer]:
    """gunicorn on the test database with ``env`` on top of the test environment."""
    return gunicorn_server(log, server_environment(ZAVA_LOG_FORMAT="json", **env))
