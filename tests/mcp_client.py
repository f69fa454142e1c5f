"""Test helpers that talk to the live server the way real clients do."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

T = TypeVar("T")
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def with_session(url: str, token: str | None, work: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Run ``work`` in an initialised session of the official MCP Python client."""

    async def main() -> T:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx.AsyncClient(headers=headers, timeout=30) as http,
            streamable_http_client(url, http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return asyncio.run(main())


def call_tool(url: str, token: str, name: str, arguments: dict[str, Any] | None = None):
    return with_session(url, token, lambda s: s.call_tool(name, arguments or {}))


def tool_json(result: types.CallToolResult) -> dict[str, Any]:
    """The JSON payload of a tool's text answer (the reference's compact format)."""
    return json.loads(result.content[0].text)


def rows(url: str, token: str, sql: str) -> list[list[Any]]:
    result = call_tool(url, token, "execute_sales_query", {"postgresql_query": sql})
    payload = tool_json(result)
    assert not result.isError, payload
    return payload["r"]


def post(url: str, body: Any, *, token: str | None = None, headers: dict | None = None):
    """A raw HTTP POST, for what the official client would never send."""
    all_headers = dict(JSON_HEADERS)
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    all_headers.update(headers or {})
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return httpx.post(url, content=content, headers=all_headers, timeout=30)


def rpc(url: str, token: str, method: str, params: dict | None = None, request_id: int = 1):
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        message["params"] = params
    return post(url, message, token=token)
