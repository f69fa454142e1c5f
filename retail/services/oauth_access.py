"""Which manager an OAuth access token speaks for, and what sign-in shows that manager.

django-oauth-toolkit issues the tokens (``/o/``); this module reads them. A token is
usable while it is unexpired, bound to the resource asking (RFC 8707), carries the
scope and belongs to an active user linked to an active manager. Only the tokens'
SHA-256 checksums are stored, so the lookup is by checksum.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_refresh_token_model,
    revoke_access_token,
)

from retail.models import Manager, ManagerKind, Store
from retail.services.tokens import LAST_USED_RESOLUTION


class InsufficientScope(Exception):
    """A valid token for this resource that lacks the scope asked for."""


@dataclass(frozen=True)
class OAuthCredential:
    """Who a valid OAuth access token speaks for: the same manager identity as a bearer
    token's. ``token_id`` names admin-issued tokens only, so it stays None here."""

    oauth_token_id: int
    manager_id: uuid.UUID
    manager_email: str
    token_id: None = None


def oauth_authenticate(raw: str, *, audience: str, scope: str) -> OAuthCredential | None:
    """The credential for ``raw`` at ``audience``, None if unusable there.

    Raises :class:`InsufficientScope` when everything but the scope is right.
    """
    found = (
        get_access_token_model()
        .objects.filter(
            token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
            expires__gt=timezone.now(),
            user__is_active=True,
            user__manager__is_active=True,
        )
        .values_list(
            "id", "resource", "scope", "user__manager__id", "user__manager__email", "updated"
        )
        .first()
    )
    if found is None:
        return None
    token_id, resources, scopes, manager_id, email, updated = found
    if audience not in (resources or []):
        return None  # issued for another resource, or for none (RFC 8707)
    if scope not in scopes.split():
        raise InsufficientScope(scope)
    now = timezone.now()
    if now - updated > LAST_USED_RESOLUTION:
        # The toolkit never changes an issued access token, so its "updated" column
        # serves as the last use the admin shows (at most one write a minute).
        get_access_token_model().objects.filter(pk=token_id).update(updated=now)
    return OAuthCredential(oauth_token_id=token_id, manager_id=manager_id, manager_email=email)


def signed_in_manager(user: AbstractBaseUser | AnonymousUser) -> Manager | None:
    """The active manager linked to ``user``, if any."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Manager.objects.filter(user_id=user.pk, is_active=True).first()


def manager_store_names(manager: Manager) -> list[str]:
    """The stores whose data the manager's tools answer from (head office: all)."""
    stores = Store.objects.all() if manager.kind == ManagerKind.HEAD_OFFICE else manager.stores
    return list(stores.order_by("store_name").values_list("store_name", flat=True))


@dataclass(frozen=True)
class ConnectedClient:
    """A client holding a current sign-in token for a manager."""

    name: str
    client_id: str
    scope: str
    connected_at: datetime
    expires: datetime
    last_used: datetime


def connected_clients(manager: Manager) -> list[ConnectedClient]:
    """Clients with an unexpired access token of the manager's account, latest use first."""
    if manager.user_id is None:
        return []
    tokens = (
        get_access_token_model()
        .objects.filter(user_id=manager.user_id, expires__gt=timezone.now())
        .select_related("application")
        .order_by("-updated")
    )
    return [
        ConnectedClient(
            name=(token.application.name or token.application.client_id)
            if token.application
            else "",
            client_id=token.application.client_id if token.application else "",
            scope=token.scope,
            connected_at=token.created,
            expires=token.expires,
            last_used=token.updated,
        )
        for token in tokens
    ]


def sign_ins_revoke(manager: Manager) -> int:
    """Revoke every sign-in token of the manager's account; how many access tokens died."""
    if manager.user_id is None:
        return 0
    access_tokens = list(get_access_token_model().objects.filter(user_id=manager.user_id))
    for token in access_tokens:
        revoke_access_token(token)  # and its refresh token, keeping the reuse tombstone
    for refresh in get_refresh_token_model().objects.filter(
        user_id=manager.user_id, revoked__isnull=True
    ):
        refresh.revoke()
    return len(access_tokens)
