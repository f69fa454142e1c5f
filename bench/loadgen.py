"""A small closed-loop HTTP/1.1 load generator for the MCP endpoint.

One asyncio task per simulated client, each with its own keep-alive connection:
it POSTs a JSON-RPC message, reads the answer by its Content-Length, and sends the
next one as soon as the answer is in (closed loop). There is no HTTP library on the
hot path and no JSON parsing of every answer, so the generator stays light next to
the server and PostgreSQL on a small machine.

An answer counts as an error when the status is not 200, when it carries a JSON-RPC
``error``, or when the tool result says ``"isError":true``. Those checks are byte
searches: outside strings, JSON has no backslash before a quote, so the keys cannot
be faked by text inside the tool's answer. The first answer of each client is also
parsed in full to check its shape.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

ACCEPT = "application/json, text/event-stream"


class ProtocolError(Exception):
    """The server answered something this client does not speak (e.g. chunked)."""


@dataclass(frozen=True)
class Target:
    """Where to post, and as whom: a bearer ``token`` (ours), or plain ``headers``.

    With ``session``, each connection first makes the 2025 handshake (``initialize``,
    then ``notifications/initialized``) and sends the ``Mcp-Session-Id`` it was given
    with every call, as a client of a stateful server (FastMCP's default) must.
    """

    host: str
    port: int
    token: str = ""
    path: str = "/mcp"
    headers: tuple[tuple[str, str], ...] = ()
    session: bool = False

    def head(self, length: int, extra: str = "") -> bytes:
        lines = [f"{name}: {value}\r\n" for name, value in self.headers]
        if self.token:
            lines.append(f"Authorization: Bearer {self.token}\r\n")
        return (
            f"POST {self.path} HTTP/1.1\r\n"
            f"Host: {self.host}:{self.port}\r\n"
            "Content-Type: application/json\r\n"
            f"Accept: {ACCEPT}\r\n" + "".join(lines) + extra + f"Content-Length: {length}\r\n"
            "\r\n"
        ).encode()


INITIALIZE = json.dumps(
    {"jsonrpc": "2.0", "id": 0, "method": "initialize",
     "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "zava-bench", "version": "1"}}},
    separators=(",", ":"),
).encode()  # fmt: skip
INITIALIZED = b'{"jsonrpc":"2.0","method":"notifications/initialized"}'


@dataclass(frozen=True)
class Window:
    """The measured interval, in ``time.perf_counter()`` seconds; warm-up is before it."""

    start: float
    end: float

    @classmethod
    def after(cls, warmup: float, duration: float) -> Window:
        start = time.perf_counter() + warmup
        return cls(start, start + duration)


@dataclass
class RunStats:
    """What one closed-loop run measured inside its window."""

    concurrency: int
    duration: float
    latencies: list[float] = field(default_factory=list)  # seconds, successful calls
    errors: Counter[str] = field(default_factory=Counter)
    error_sample: str | None = None

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.completed / self.duration if self.duration > 0 else 0.0

    def percentile_ms(self, q: float) -> float | None:
        return percentile(self.latencies, q) * 1000 if self.latencies else None

    def error(self, kind: str, sample: str) -> None:
        self.errors[kind] += 1
        if self.error_sample is None:
            self.error_sample = f"{kind}: {sample[:500]}"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100), interpolated between closest ranks."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def tools_call_body(
    name: str, arguments: dict, *, unique_sql: str | None = None
) -> Callable[[int], bytes]:
    """A factory of ``tools/call`` bodies for a call number.

    The JSON-RPC id is the call number. With ``unique_sql`` (an argument's name), that
    argument also starts with ``/* call N */``: the same SQL for PostgreSQL, but a new
    question for the server's answer cache, as each question of a model would be.
    """
    arguments = dict(arguments)
    if unique_sql is not None:
        arguments[unique_sql] = f"/* call \x00 */ {arguments[unique_sql]}"
    params = json.dumps({"name": name, "arguments": arguments}, separators=(",", ":")).encode()
    pieces = params.split(b"\\u0000")  # where json.dumps put the NUL marker
    head = b'{"jsonrpc":"2.0","id":'
    pieces[0] = b',"method":"tools/call","params":' + pieces[0]
    pieces[-1] += b"}"

    def body(number: int) -> bytes:
        text = str(number).encode()
        return head + text + text.join(pieces)

    return body


def classify(status: int, body: bytes) -> str | None:
    """None for a good answer, else the kind of error."""
    if status != 200:
        return f"http {status}"
    if b'"error":{' in body:
        return "json-rpc error"
    if b'"isError":true' in body:
        return "tool error"
    if b'"result":' not in body:
        return "no result"
    return None


def message_of(body: bytes) -> Any:
    """The JSON-RPC message of an answer: a JSON body, or the data of an SSE event."""
    if body.startswith((b"event:", b"data:")):
        body = b"".join(line[5:].strip() for line in body.splitlines() if line.startswith(b"data:"))
    return json.loads(body)


def check_shape(body: bytes) -> str | None:
    """The full check of one answer: a tools/call result with content, not an error."""
    try:
        message = message_of(body)
        result = message["result"]
        if result.get("isError") is not False or not isinstance(result.get("content"), list):
            return "unexpected result"
    except (ValueError, KeyError, TypeError, AttributeError):
        return "malformed answer"
    return None


def answer_json(result: dict[str, Any]) -> Any:
    """The JSON of a tools/call result's text, taken out of the untrusted-data fence
    (mcp_tools/untrusted.py: a sentence line, the opening tag, the data, the closing
    tag) when the server fences it."""
    text = result["content"][0]["text"]
    if text.startswith("Inside the untrusted-data-"):
        text = text.split("\n", 2)[2].rsplit("\n", 1)[0]
    return json.loads(text)


class Connection:
    """One keep-alive HTTP/1.1 connection, used by one client at a time."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.session = ""  # the Mcp-Session-Id line, once the handshake gave one

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.target.host, self.target.port)
        if self.target.session:
            await self.handshake()

    async def handshake(self) -> None:
        """``initialize`` and ``notifications/initialized``, keeping the session id."""
        self.session = ""
        status, body, _ = await self.post(INITIALIZE)
        if status != 200 or b'"result":' not in body:
            raise ProtocolError(f"initialize answered {status}: {body[:200]!r}")
        status, body, _ = await self.post(INITIALIZED)
        if status not in (200, 202):
            raise ProtocolError(f"notifications/initialized answered {status}")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, body: bytes) -> tuple[int, bytes, bool]:
        """Send one request; return (status, body, keep_alive)."""
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(self.target.head(len(body), self.session) + body)
        await self.writer.drain()
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status = lines[0].split(b" ", 2)[:2]
        length = None
        chunked = False
        keep_alive = version == b"HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection":
                keep_alive = value.strip().lower() != b"close"
            elif name == b"transfer-encoding":
                chunked = value.strip().lower() == b"chunked"
                if not chunked:
                    raise ProtocolError(f"transfer-encoding {value.strip().decode()} not supported")
            elif name == b"mcp-session-id":
                self.session = f"Mcp-Session-Id: {value.strip().decode()}\r\n"
        if chunked:
            return int(status), await self._chunks(), keep_alive
        if length is None:
            raise ProtocolError("answer without Content-Length")
        payload = await self.reader.readexactly(length) if length else b""
        return int(status), payload, keep_alive

    async def _chunks(self) -> bytes:
        """A chunked body (how uvicorn streams an SSE answer), up to its last chunk."""
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")  # no trailers are sent
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)


async def _client(
    target: Target,
    make_body: Callable[[int], bytes],
    window: Window,
    stats: RunStats,
    numbers: Iterator[int],
) -> None:
    connection = Connection(target)
    clock = time.perf_counter
    checked = False
    try:
        while clock() < window.end:  # the first post() opens the connection
            body = make_body(next(numbers))
            sent = clock()
            try:
                status, payload, keep_alive = await connection.post(body)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                problem, payload, keep_alive = f"connection: {type(exc).__name__}", b"", False
            except (ProtocolError, ValueError) as exc:
                problem, payload, keep_alive = f"protocol: {exc}", b"", False
            else:
                problem = classify(status, payload)
                if problem is None and not checked:
                    problem, checked = check_shape(payload), True
            done = clock()
            if window.start <= done <= window.end:
                if problem is None:
                    stats.latencies.append(done - sent)
                else:
                    stats.error(problem, payload.decode(errors="replace"))
            if not keep_alive:
                connection.close()
                if problem is not None:
                    await asyncio.sleep(0.05)  # do not spin on a refusing server
    finally:
        connection.close()


async def _run(
    target: Target,
    make_body: Callable[[int], bytes],
    concurrency: int,
    window: Window,
) -> RunStats:
    stats = RunStats(concurrency=concurrency, duration=window.end - window.start)
    numbers = itertools.count(1)  # call numbers unique across clients
    clients = [_client(target, make_body, window, stats, numbers) for _ in range(concurrency)]
    # Clients finish their last call after the window; a stuck server must not hang us.
    limit = max(window.end - time.perf_counter(), 0) + 60
    async with asyncio.timeout(limit):
        await asyncio.gather(*clients)
    return stats


def run_closed_loop(
    target: Target,
    make_body: Callable[[int], bytes],
    concurrency: int,
    window: Window,
) -> RunStats:
    """``concurrency`` clients in a closed loop until ``window.end``; measures inside it."""
    return asyncio.run(_run(target, make_body, concurrency, window))


def post_once(target: Target, body: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection (readiness checks, validation)."""

    async def once() -> tuple[int, bytes]:
        connection = Connection(target)
        try:
            status, payload, _ = await connection.post(body)
            return status, payload
        finally:
            connection.close()

    return asyncio.run(once())
