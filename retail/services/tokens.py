"""Issuing, revoking and checking managers' bearer tokens.

A token is ``zava_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 digest is stored, so a leaked table grants nothing; the raw token is
returned once, by :func:`token_issue`.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from infrastructure.credentials import TOKEN_PREFIX, is_token_shaped
from retail.errors import InvalidInput
from retail.models import AccessToken, Manager
from retail.rate_limits import TOKEN_BUCKET_PREFIX, Verdict, counted_lookup

DISPLAY_PREFIX_LENGTH = 12
# Writing last_used_at on every call would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    raw: str


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def manager_resolve(identifier: str) -> Manager:
    """A manager by RLS identity (UUID) or email, with a clear error otherwise."""
    identifier = identifier.strip()
    lookup: dict[str, object]
    try:
        lookup = {"id": uuid.UUID(identifier)}
    except ValueError:
        lookup = {"email__iexact": identifier}
    try:
        return Manager.objects.get(**lookup)
    except Manager.DoesNotExist:
        raise InvalidInput(f"No manager with UUID or email {identifier!r}.") from None


@transaction.atomic
def token_issue(
    *, manager: Manager, name: str = "default", expires_days: int | None = None
) -> IssuedToken:
    if expires_days is not None and expires_days < 1:
        raise InvalidInput("A token must be valid for at least one day.")
    if not manager.is_active:
        raise InvalidInput(f"Manager {manager.email} is inactive.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        manager=manager,
        name=name.strip() or "default",
        prefix=raw[:DISPLAY_PREFIX_LENGTH],
        digest=token_digest(raw),
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
    )
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def token_revoke(*, token: AccessToken) -> AccessToken:
    """Revoke a token; revoking twice keeps the first revocation time."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_find(identifier: str) -> AccessToken:
    """A token by its raw value or its displayed prefix."""
    identifier = identifier.strip()
    if is_token_shaped(identifier):
        found = AccessToken.objects.filter(digest=token_digest(identifier))
    else:
        found = AccessToken.objects.filter(prefix=identifier)
    tokens = list(found[:2])
    if not tokens:
        raise InvalidInput("No token matches that value or prefix.")
    if len(tokens) > 1:
        raise InvalidInput("Several tokens share that prefix; give the whole token.")
    return tokens[0]


class TokenStatus(models.TextChoices):
    """Where a token stands. Only ``ACTIVE`` tokens authenticate."""

    ACTIVE = "active", "active"
    EXPIRED = "expired", "expired"
    REVOKED = "revoked", "revoked"
    MANAGER_INACTIVE = "manager_inactive", "manager inactive"


# The one rule, in its three forms (one object, a queryset, the authentication SQL
# below), checked against each other by tests/retail/services/test_tokens.py: a revoked
# token is revoked; else an expired one is expired; else a token of an inactive manager
# is unusable until the manager is active again; anything else is active.
def token_status(token: AccessToken, now: datetime | None = None) -> TokenStatus:
    now = now or timezone.now()
    if token.revoked_at is not None:
        return TokenStatus.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return TokenStatus.EXPIRED
    if not token.manager.is_active:
        return TokenStatus.MANAGER_INACTIVE
    return TokenStatus.ACTIVE


def tokens_with_status(
    tokens: QuerySet[AccessToken], status: TokenStatus, now: datetime | None = None
) -> QuerySet[AccessToken]:
    """The tokens of ``tokens`` whose :func:`token_status` is ``status``, in SQL."""
    now = now or timezone.now()
    revoked = Q(revoked_at__isnull=False)
    expired = Q(expires_at__lte=now)
    inactive = Q(manager__is_active=False)
    if status == TokenStatus.REVOKED:
        return tokens.filter(revoked)
    if status == TokenStatus.EXPIRED:
        return tokens.filter(expired).exclude(revoked)
    if status == TokenStatus.MANAGER_INACTIVE:
        return tokens.filter(inactive).exclude(revoked | expired)
    return tokens.exclude(revoked | expired | inactive)


@dataclass(frozen=True)
class Credential:
    """Who a valid bearer token speaks for."""

    token_id: int
    manager_id: uuid.UUID
    manager_email: str


# On every request: one indexed lookup, no ORM machinery (the ORM cost a quarter of a
# trivial call's CPU). The WHERE clause is TokenStatus.ACTIVE of token_status().
_AUTHENTICATE = """
SELECT t.id AS bucket_key, t.manager_id, m.email, t.last_used_at
  FROM tenancy_access_tokens t
  JOIN tenancy_managers m ON m.id = t.manager_id
 WHERE t.digest = %(digest)s AND t.revoked_at IS NULL AND m.is_active
   AND (t.expires_at IS NULL OR t.expires_at > now())
"""


def token_authenticate(raw: str) -> Credential | None:
    """The credential for ``raw`` if it is usable now, else None (for any failure)."""
    return token_authenticate_and_count(raw, limit=0)[0]


def token_authenticate_and_count(raw: str, limit: int) -> tuple[Credential | None, Verdict]:
    """:func:`token_authenticate`, and the request counted against the token's ``limit``
    per minute in the same statement (:func:`retail.rate_limits.counted_lookup`)."""
    if not is_token_shaped(raw):
        return None, Verdict(True)  # cheap format check before touching the database
    row, verdict = counted_lookup(
        _AUTHENTICATE, {"digest": token_digest(raw)}, TOKEN_BUCKET_PREFIX, limit
    )
    if row is None:
        return None, verdict
    token_id, manager_id, email, last_used_at = row
    now = timezone.now()
    if last_used_at is None or now - last_used_at > LAST_USED_RESOLUTION:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE tenancy_access_tokens SET last_used_at = %s WHERE id = %s", [now, token_id]
            )
    return Credential(token_id=token_id, manager_id=manager_id, manager_email=email), verdict
