"""``manage.py issue_token``: a new bearer token for a manager, printed once."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retail.errors import InvalidInput
from retail.services.tokens import manager_resolve, token_issue


class Command(BaseCommand):
    help = (
        "Issue a bearer token for a manager, given by RLS identity (UUID) or email. "
        "The token is printed once, alone on the last line; only its digest is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("manager", help="The manager's UUID or email.")
        parser.add_argument("--name", default="cli", help="What the token is for (default: cli).")
        parser.add_argument(
            "--expires-days",
            type=int,
            default=None,
            help="Days until the token expires (default: never).",
        )

    def handle(self, *args, **options) -> None:
        try:
            manager = manager_resolve(options["manager"])
            issued = token_issue(
                manager=manager, name=options["name"], expires_days=options["expires_days"]
            )
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        expiry = issued.token.expires_at
        self.stderr.write(
            f"Token {issued.token.prefix}… for {manager} "
            f"({'expires ' + expiry.isoformat() if expiry else 'no expiry'}). "
            "Store it now: it is not shown again."
        )
        self.stdout.write(issued.raw)
