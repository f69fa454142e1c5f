"""The official MCP Python SDK 2.x client, run as a subprocess from ``.venv-sdk2``.

The server's environment keeps mcp 1.x (django-mcp-server needs it), so the 2.x client
lives in a virtualenv of its own, installed from ``requirements-sdk2.lock`` by ``make
outside-clients`` (which ``make test`` runs first), and is driven by
:mod:`tests.clients.sdk2_driver`, which only that virtualenv runs.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

BASE = Path(__file__).resolve().parents[2]
SDK2_PYTHON = BASE / ".venv-sdk2" / "bin" / "python"
DRIVER = Path(__file__).with_name("sdk2_driver.py")


def run_sdk2(target: str | dict[str, Any], token: str | None, mode: str, steps: list[list]) -> dict:
    """What the SDK 2 client got for ``steps`` against ``target`` in ``mode``."""
    assert SDK2_PYTHON.exists(), "the SDK 2 client is not installed: run `make outside-clients`"
    plan = {"target": target, "token": token, "mode": mode, "steps": steps}
    finished = subprocess.run(
        [str(SDK2_PYTHON), str(DRIVER)],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, f"the SDK 2 client failed:\n{finished.stderr[-4000:]}"
    return json.loads(finished.stdout)
