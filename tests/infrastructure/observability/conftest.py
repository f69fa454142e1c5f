"""Shared by the observability tests: one real gunicorn with two workers and a metrics
secret, for the package, and helpers to read its JSON log."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import private_server
from tests.identities import SEATTLE

SEATTLE_ID = str(SEATTLE.id)  # as logs write it
FAKE_TOKEN = "zava_" + "A" * 20 + "-" + "b" * 22  # token-shaped, 43 characters after zava_
METRICS_TOKEN = secrets.token_urlsafe(32)
SALES_SQL = "SELECT store_id, count(*) AS n FROM retail.orders GROUP BY store_id ORDER BY 1"


def tool_call(name: str, arguments: dict, request_id: int = 1) -> dict:
    """A ``tools/call`` message."""
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


@pytest.fixture(scope="package")
def metrics_server(seeded, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prometheus")
    (directory / "counter_999999.db").write_bytes(b"left over from an earlier run")
    log = tmp_path_factory.mktemp("metrics-server") / "gunicorn.log"
    with private_server(
        log,
        WEB_CONCURRENCY="2",
        ZAVA_METRICS_TOKEN=METRICS_TOKEN,
        PROMETHEUS_MULTIPROC_DIR=str(directory),
    ) as server:
        yield SimpleNamespace(server=server, directory=directory)


def log_records(log: Path, request_id: str, *, count: int) -> list[dict]:
    """JSON log lines of one request, waiting briefly for the worker to write them."""
    deadline = time.monotonic() + 10
    while True:
        records = []
        for line in log.read_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("request_id") == request_id:
                    records.append(entry)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


def tool_lines(records: list[dict]) -> list[dict]:
    return [r for r in records if r["logger"] == "zava.mcp" and r["msg"].startswith("tool call")]


def scrape(url: str) -> dict[str, list]:
    """The metric families a server exposes, by name, read with the scraper secret."""
    response = httpx.get(
        f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200
    return {family.name: family.samples for family in text_string_to_metric_families(response.text)}


def sample(samples: list, **labels: str) -> float:
    """The sum of the samples with these labels."""
    return sum(s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items()))
