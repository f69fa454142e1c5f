"""A local HTTP proxy that adds a bearer token to each request and changes nothing else.

The MCP conformance suite cannot send an ``Authorization`` header, and ``/mcp`` rightly
answers 401 without one. Rather than open a test-only way past authentication, the
suite talks to this proxy, which relays each request to the real server byte for
byte (the suite's own header spellings, whitespace, ``Host`` and ``Origin`` included,
which its header-validation and DNS-rebinding scenarios depend on) with one header
line added. One request per connection: the relayed request asks the server to close,
so the server's answer, framing and all, reaches the client unchanged.
"""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_HEAD_LIMIT = 65_536


class _Relay(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(30)
        head, body = _read_request(client)
        if head is None:
            return
        lines = head.split(b"\r\n")
        kept = [line for line in lines[1:] if not line.lower().startswith(b"connection:")]
        added = [b"Authorization: Bearer " + self.server.token.encode(), b"Connection: close"]
        relayed = b"\r\n".join([lines[0], *kept, *added]) + b"\r\n\r\n" + body
        with socket.create_connection(self.server.upstream, timeout=60) as upstream:
            upstream.sendall(relayed)
            while chunk := upstream.recv(65_536):
                client.sendall(chunk)


def _read_request(client: socket.socket) -> tuple[bytes | None, bytes]:
    """The request's head (without its blank line) and body, by its Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65_536)
        if not chunk or len(data) > _HEAD_LIMIT:
            return None, b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = client.recv(65_536)
        if not chunk:
            break
        body += chunk
    return head, body


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int], token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.upstream = upstream
        self.token = token


@contextmanager
def auth_proxy(upstream_host: str, upstream_port: int, token: str) -> Iterator[int]:
    """A proxy to ``upstream`` that signs every request with ``token``; yields its port."""
    server = _ProxyServer((upstream_host, upstream_port), token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
