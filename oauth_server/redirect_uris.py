"""Where an authorization code may be sent: https anywhere, plain http only to the loopback.

OAuth 2.1 and the MCP authorization spec allow a redirect URI over plain http only on
a loopback interface, where a native client listens on a port of its choice (RFC 8252
§7.3: ``127.0.0.1``, ``[::1]``, ``localhost``, any port); anywhere else the code would
cross the network in clear text, so it must be https. Private-use schemes (RFC 8252
§7.1, ``com.example.app:/callback``) are refused too: any app on a device can claim
one, and the MCP clients Zava serves (VS Code, Claude, the Inspector, the SDKs) use a
loopback port or an https page. ``javascript:``, ``data:`` and the like never pass.

One rule, applied wherever a URI comes in: dynamic registration and its updates
(:mod:`oauth_server.views`), Client ID Metadata Documents
(:mod:`oauth_server.client_metadata`), the admin's application form
(:mod:`oauth_server.admin`), and again at authorization
(:mod:`oauth_server.validator`), so a client stored before the rule gets no code.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if not host:
        return False
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri: str) -> str:
    """Why ``uri`` may not receive an authorization code; '' when it may."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return "is not a valid URI"
    scheme = parts.scheme.lower()
    if scheme == "https":
        return "" if host else "has no host"
    if scheme == "http":
        if is_loopback(host):
            return ""
        return (
            "uses plain http on a host other than the loopback (127.0.0.1, [::1] or "
            "localhost); use https"
        )
    return f"uses the scheme {scheme or '(none)'!r}: only https, or http to the loopback"


def redirect_uri_problems(uris: Iterable[str]) -> list[str]:
    """One sentence per refused URI, naming it; empty when all may be used."""
    problems = []
    for uri in uris:
        problem = redirect_uri_problem(uri)
        if problem:
            problems.append(f"The redirect URI {uri[:200]!r} {problem}.")
    return problems


def metadata_redirect_problems(metadata: Any) -> list[str]:
    """The refused URIs of client metadata (RFC 7591 or a metadata document); empty
    when ``redirect_uris`` is fine or malformed (the toolkit refuses malformed ones)."""
    uris = metadata.get("redirect_uris") if isinstance(metadata, dict) else None
    if not isinstance(uris, list) or not all(isinstance(uri, str) for uri in uris):
        return []
    return redirect_uri_problems(uris)
