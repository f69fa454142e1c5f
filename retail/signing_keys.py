"""The tenant-identity HMAC keys in ``zava_private.rls_signing_key``, and their rotation.

The table holds the **current** key (``expires_at`` NULL), which signs every new tenant
context, and during a rotation the **retired** keys, which ``retail.visible_store_ids()``
still accepts for transactions that start before their ``expires_at`` (migration 0008).
Only the owner role can read the table; the tenant role cannot even see the schema.

Each process keeps the current key for ``ZAVA_SIGNING_KEY_REFRESH_SECONDS`` and then
reads it again, so a rotation reaches every gunicorn worker within that interval, and
the overlap (``ZAVA_SIGNING_KEY_OVERLAP_SECONDS``) must be longer: until then workers
that still sign with the old key keep being accepted, and no request fails.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction

KEY_BYTES = 32

# The key that signs new contexts: also read on each replica (retail/replicas.py).
CURRENT_KEY_SQL = (
    "SELECT secret FROM zava_private.rls_signing_key "
    "WHERE expires_at IS NULL ORDER BY id DESC LIMIT 1"
)

_lock = threading.Lock()
_cache: dict[str, tuple[bytes, float]] = {}  # database name -> (key, monotonic read time)


@dataclass(frozen=True)
class SigningKey:
    """One row of the key table, without the secret."""

    id: int
    created_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    new_key: SigningKey
    retired: list[SigningKey]
    removed: int


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer padded keys (RFC 2104), so SQL needs only sha256()."""
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def current_key(alias: str) -> bytes:
    """The key that signs new tenant contexts on ``alias``'s database, read as the owner.

    Cached per process for ``ZAVA_SIGNING_KEY_REFRESH_SECONDS``, so the hot path reads
    the table at most once per interval.
    """
    database = connections[alias].settings_dict["NAME"]
    cached = _cache.get(database)
    now = time.monotonic()
    if cached and now - cached[1] < settings.ZAVA_SIGNING_KEY_REFRESH_SECONDS:
        return cached[0]
    with _lock, connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(CURRENT_KEY_SQL)
        key = bytes(cursor.fetchone()[0])
    _cache[database] = (key, now)
    return key


def forget_cached_keys() -> None:
    """Read the key again on next use (after a rotation in this very process)."""
    _cache.clear()


def list_keys(using: str = DEFAULT_DB_ALIAS) -> list[SigningKey]:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT id, created_at, expires_at FROM zava_private.rls_signing_key ORDER BY id"
        )
        return [SigningKey(*row) for row in cursor.fetchall()]


def rotate(overlap_seconds: float, using: str = DEFAULT_DB_ALIAS) -> Rotation:
    """Add a new current key; the previous one stays valid for ``overlap_seconds``.

    Keys whose overlap has already ended are deleted on the way.
    """
    key = secrets.token_bytes(KEY_BYTES)
    inner, outer = hmac_pads(key)
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        # One rotation at a time; readers (ACCESS SHARE) are not blocked.
        cursor.execute("LOCK TABLE zava_private.rls_signing_key IN EXCLUSIVE MODE")
        cursor.execute(
            "DELETE FROM zava_private.rls_signing_key WHERE expires_at <= clock_timestamp()"
        )
        removed = cursor.rowcount
        cursor.execute(
            "UPDATE zava_private.rls_signing_key "
            "SET expires_at = clock_timestamp() + make_interval(secs => %s) "
            "WHERE expires_at IS NULL RETURNING id, created_at, expires_at",
            [overlap_seconds],
        )
        retired = [SigningKey(*row) for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO zava_private.rls_signing_key (id, secret, inner_pad, outer_pad) "
            "SELECT coalesce(max(id), 0) + 1, %s, %s, %s FROM zava_private.rls_signing_key "
            "RETURNING id, created_at, expires_at",
            [key, inner, outer],
        )
        new_key = SigningKey(*cursor.fetchone())
    forget_cached_keys()
    return Rotation(new_key=new_key, retired=retired, removed=removed)


def remove_retired(using: str = DEFAULT_DB_ALIAS) -> int:
    """End the overlap now: delete every key but the current one. Returns how many."""
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("LOCK TABLE zava_private.rls_signing_key IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM zava_private.rls_signing_key WHERE expires_at IS NOT NULL")
        return cursor.rowcount


def seconds_since_last_rotation(using: str = DEFAULT_DB_ALIAS) -> float:
    """Age of the current key, by the database's clock."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT extract(epoch FROM clock_timestamp() - max(created_at)) "
            "FROM zava_private.rls_signing_key WHERE expires_at IS NULL"
        )
        return float(cursor.fetchone()[0])
