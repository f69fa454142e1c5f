"""``manage.py revoke_token``: revoke one token, or every token of a manager."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from retail.errors import InvalidInput
from retail.services.tokens import manager_resolve, token_find, token_revoke


class Command(BaseCommand):
    help = (
        "Revoke a bearer token, given as the whole token or its displayed prefix "
        "(e.g. zava_AbC123x), or with --manager every token of a manager. "
        "Revoked tokens fail on the next request."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("token", nargs="?", help="The token or its prefix.")
        parser.add_argument("--manager", help="Revoke all tokens of this manager (UUID or email).")

    def handle(self, *args, **options) -> None:
        if bool(options["token"]) == bool(options["manager"]):
            raise CommandError("Give either a token (or prefix) or --manager, not both.")
        try:
            if options["manager"]:
                manager = manager_resolve(options["manager"])
                tokens = list(manager.access_tokens.filter(revoked_at__isnull=True))
            else:
                tokens = [token_find(options["token"])]
        except InvalidInput as exc:
            raise CommandError(exc.message) from exc
        for token in tokens:
            token_revoke(token=token)
            self.stdout.write(f"Revoked {token.prefix}… ({token.name}) of {token.manager.email}")
        if not tokens:
            self.stdout.write("No active tokens to revoke.")
