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

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from retail.models import Manager, ManagerKind, Store


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
        .values_list("id", "resource", "scope", "user__manager__id", "user__manager__email")
        .first()
    )
    if found is None:
        return None
    token_id, resources, scopes, manager_id, email = found
    if audience not in (resources or []):
        return None  # issued for another resource, or for none (RFC 8707)
    if scope not in scopes.split():
        raise InsufficientScope(scope)
    return OAuthCredential(oauth_token_id=token_id, manager_id=manager_id, manager_email=email)


def signed_in_manager(user: AbstractBaseUser | AnonymousUser) -> Manager | None:
    """The active manager linked to ``user``, if any."""
    if not user.is_authenticated or not user.is_active:
        return None
    return Manager.objects.filter(user=user, is_active=True).first()


def manager_store_names(manager: Manager) -> list[str]:
    """The stores whose data the manager's tools answer from (head office: all)."""
    stores = Store.objects.all() if manager.kind == ManagerKind.HEAD_OFFICE else manager.stores
    return list(stores.order_by("store_name").values_list("store_name", flat=True))
