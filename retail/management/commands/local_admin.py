"""``manage.py local_admin``: tell a new user how to log in to the admin (``make run``).

On a first local run (the embedded database) with no superuser, it creates one
named ``admin`` with a random password, keeps the password in
``var/local_admin_password`` (mode 0600, git-ignored) and prints it: a new user can
log in at once, and no fixed password ever exists. On an external database it
creates nothing and prints the ``createsuperuser`` instruction instead, because a
shared server's first account should be chosen by a person.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

USERNAME = "admin"


def password_file() -> Path:
    return Path(settings.VAR_DIR) / "local_admin_password"


class Command(BaseCommand):
    help = (
        "Print how to log in to the admin. With the embedded database and no superuser, "
        "first create a local superuser 'admin' with a random password kept in var/."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/admin/", help="The admin's address."
        )
        parser.add_argument(
            "--no-create",
            action="store_true",
            help="Never create an account; only print instructions.",
        )

    def handle(self, *args, **options) -> None:
        url = options["url"]
        users = get_user_model().objects
        if users.filter(is_superuser=True, is_active=True).exists():
            self._existing(url)
            return
        if (
            options["no_create"]
            or not settings.ZAVA_EMBEDDED_DB
            or users.filter(username=USERNAME).exists()
        ):
            self.stdout.write(
                f"Admin: {url} — no superuser yet. Create one with:\n"
                "    .venv/bin/python manage.py createsuperuser"
            )
            return
        password = secrets.token_urlsafe(18)
        users.create_superuser(USERNAME, email="", password=password)
        path = password_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(
            f"Admin: {url}\n"
            f"    created a local superuser: user {USERNAME!r}, password {password}\n"
            f"    (kept in {path}; change it with `manage.py changepassword {USERNAME}`)"
        )

    def _existing(self, url: str) -> None:
        path = password_file()
        hint = ""
        if path.exists() and get_user_model().objects.filter(username=USERNAME).exists():
            hint = f" (the local {USERNAME!r} password was written to {path})"
        self.stdout.write(f"Admin: {url} — log in with your superuser account{hint}.")
