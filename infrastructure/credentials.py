"""The shapes of the credentials clients send: Zava access tokens and bearer headers.

One definition for every reader: token issuing and lookup (retail.services.tokens),
log redaction and request ids (zava.observability), MCP authentication
(mcp_tools.middleware) and the metrics endpoint. Free of Django settings, so that the
logging configuration can import it before Django is set up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.http import HttpRequest

TOKEN_PREFIX = "zava_"  # noqa: S105 - a marker, not a secret
#: A Zava access token anywhere in a text: the prefix and 43 URL-safe characters
#: (256 random bits).
TOKEN_PATTERN = re.compile(r"zava_[A-Za-z0-9_-]{43}")


def is_token_shaped(text: str) -> bool:
    """``text`` is exactly one access token (nothing before or after it)."""
    return TOKEN_PATTERN.fullmatch(text) is not None


def bearer_credential(request: HttpRequest) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header, or None."""
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return None
    return credential.strip()
