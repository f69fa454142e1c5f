"""Charts kept for a while, so that the caller who drew one can read it again later.

A chart is stored in Django's cache, where cached answers live (the database cache,
or Redis via CACHE_URL), under an unguessable ID, for ``ZAVA_CHART_LINK_SECONDS``.
It is kept with the scope of the caller who drew it
(:func:`~retail.services.answer_cache.scope_key`: identity, the stores the policies
give it, the data version), and only a reader in the same scope gets it back: another
manager, head office, or the same manager after losing a store or after a re-seed
meets "not found", exactly as for an ID that never existed or has expired.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from retail.errors import InvalidInput
from retail.services.answer_cache import scope_key

CHART_ID = re.compile(r"[0-9a-f]{32}")
NOT_FOUND = "No such chart: it has expired, was drawn for someone else, or never existed."


@dataclass(frozen=True)
class KeptChart:
    chart_id: str
    expires: datetime


def keep_chart(png: bytes) -> KeptChart | None:
    """Store ``png`` for the open tenant context's caller; None when links are off."""
    seconds = settings.ZAVA_CHART_LINK_SECONDS
    if seconds <= 0:
        return None
    chart_id = secrets.token_hex(16)
    expires = datetime.now(UTC) + timedelta(seconds=seconds)
    cache.set(chart_cache_key(chart_id), (scope_key(), png), seconds)
    return KeptChart(chart_id=chart_id, expires=expires)


def kept_chart(chart_id: str) -> bytes:
    """The PNG stored under ``chart_id`` for this caller's scope; raises when there is none."""
    if not CHART_ID.fullmatch(chart_id):
        raise InvalidInput(NOT_FOUND, reason="not_found")
    stored = cache.get(chart_cache_key(chart_id))
    if stored is None or not hmac.compare_digest(stored[0].encode(), scope_key().encode()):
        raise InvalidInput(NOT_FOUND, reason="not_found")
    return stored[1]


def chart_cache_key(chart_id: str) -> str:
    return f"chart:{chart_id}"
