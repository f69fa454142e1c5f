"""Inviting a manager to sign in from MCP clients: an account and a link to set its password.

Head office picks managers in the admin; each gets a Django user named by its email
(linked one-to-one, reused if it exists) and an email with a one-time link, made with
Django's password-reset tokens: the link stops working once the password is set, when
it expires (``PASSWORD_RESET_TIMEOUT``), or when the account signs in. No password ever
travels in the email or through head office.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from retail.errors import InvalidInput
from retail.models import Manager

SUBJECT = "Sign in to Zava retail analytics from your AI assistant"
BODY = """Hello {name},

Head office has invited you to sign in to Zava's retail analytics from your AI
assistant (Claude, VS Code, any MCP client). Choose your password here:

    {link}

The link works once and expires in {days} days. Then add this server to your
assistant as {mcp_url}; it opens a browser for you to sign in as {email}.
"""


@transaction.atomic
def sign_in_invite(manager: Manager, *, site_url: str) -> User:
    """Give ``manager`` a sign-in account if it has none, and email it a set-password link.

    ``site_url`` is the server's public origin (``https://mcp.zava.example``).
    """
    if not manager.is_active:
        raise InvalidInput(f"{manager.email} is inactive: activate the manager first.")
    user = manager.user or _account_for(manager)
    if manager.user_id != user.pk:
        manager.user = user
        manager.save(update_fields=["user", "updated_at"])
    path = reverse(
        "oauth2_provider:invite-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    origin = site_url.rstrip("/")
    send_mail(
        SUBJECT,
        BODY.format(
            name=manager.name,
            link=f"{origin}{path}",
            days=max(1, settings.PASSWORD_RESET_TIMEOUT // 86_400),
            mcp_url=f"{origin}{settings.ZAVA_MCP_PATH}",
            email=manager.email,
        ),
        None,  # DEFAULT_FROM_EMAIL
        [manager.email],
    )
    return user


def _account_for(manager: Manager) -> User:
    """The user named by the manager's email; refused if another manager holds it."""
    user, created = User.objects.get_or_create(
        username=manager.email, defaults={"email": manager.email}
    )
    if created:
        user.set_unusable_password()  # usable only once the invitee sets one
        user.save(update_fields=["password"])
    elif Manager.objects.filter(user=user).exclude(pk=manager.pk).exists():
        raise InvalidInput(f"The account {user.username} already belongs to another manager.")
    return user
