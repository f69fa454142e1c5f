"""Drive the official MCP Python SDK 2.x client (``mcp`` 2.3) through a plan, print what it got.

Runs only under ``.venv-sdk2``'s Python (``make sdk2``), never imported by the server or
by the tests, which run it as a subprocess (:mod:`tests.clients.sdk2`): the server's
own environment keeps mcp 1.x for django-mcp-server. It reads one JSON object on stdin,
``{"target": ..., "token": ..., "mode": "auto" | "legacy" | "2026-07-28", "steps": [...]}``,
where the target is an ``/mcp`` URL or ``{"command": [...], "env": {...}}`` for stdio,
and writes ``{"protocol_version", "discovered", "results"}`` as JSON on stdout. Each step is
``["tools/list"]``, ``["tools/call", name, arguments]``, ``["resources/read", uri]``,
``["prompts/get", name, arguments]`` or ``["completion/complete", prompt, argument,
value]``; its result is the SDK's model dumped as the wire has it, or ``{"error": {code,
message}}`` when the server answered with a JSON-RPC error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import PromptReference


async def _step(client: Client, step: list[Any]) -> Any:
    method, *args = step
    if method == "tools/list":
        return await client.list_tools(cache_mode="bypass")
    if method == "tools/call":
        return await client.call_tool(args[0], args[1])
    if method == "resources/read":
        return await client.read_resource(args[0], cache_mode="bypass")
    if method == "prompts/get":
        return await client.get_prompt(args[0], args[1])
    if method == "completion/complete":
        reference = PromptReference(type="ref/prompt", name=args[0])
        return await client.complete(reference, {"name": args[1], "value": args[2]})
    raise ValueError(f"unknown step {method!r}")


def _dumped(result: Any) -> Any:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    target = plan["target"]
    if isinstance(target, str):
        headers = {"Authorization": f"Bearer {plan['token']}"}
        http = httpx2.AsyncClient(headers=headers, timeout=60)
        server: Any = streamable_http_client(target, http_client=http)
    else:
        server = StdioServerParameters(command=target["command"][0], args=target["command"][1:],
                                       env=target["env"], cwd=target.get("cwd"))  # fmt: skip
    results = []
    async with Client(server, mode=plan["mode"]) as client:
        session = client.session
        discovered = session.discover_result
        for step in plan["steps"]:
            try:
                results.append(_dumped(await _step(client, step)))
            except MCPError as exc:
                results.append({"error": {"code": exc.code, "message": exc.message}})
    return {
        "protocol_version": session.protocol_version,
        "discovered": _dumped(discovered) if discovered is not None else None,
        "results": results,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.load(sys.stdin)))))
