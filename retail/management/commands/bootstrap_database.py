"""``manage.py bootstrap_database``: roles and database on an external PostgreSQL."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from psycopg.conninfo import conninfo_to_dict

from infrastructure.database_bootstrap import bootstrap_cluster


class Command(BaseCommand):
    help = (
        "Create (or repair) the owner, gateway and tenant roles, the database and the vector "
        "extension on a PostgreSQL server, connecting with an administrator's URL. Safe to run "
        "again. The embedded server does this by itself; run it once for an external server, "
        "then 'migrate'. Passwords default to those of DATABASE_URL and "
        "ZAVA_DB_GATEWAY_PASSWORD."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-url",
            required=True,
            help="postgres://… of a superuser (or a role with CREATEROLE and CREATEDB).",
        )
        parser.add_argument(
            "--database",
            default=None,
            help="Database to create (default: the NAME of DATABASE_URL, or 'zava').",
        )
        parser.add_argument("--owner-password", default=None, help="Password for the owner role.")
        parser.add_argument(
            "--gateway-password", default=None, help="Password for the gateway role."
        )

    def handle(self, *args, **options) -> None:
        database = settings.DATABASES["default"]
        name = options["database"] or database["NAME"]
        roles = settings.ZAVA_DB_ROLES
        try:
            conninfo_to_dict(options["admin_url"])
        except psycopg.ProgrammingError as exc:
            raise CommandError("--admin-url is not a valid connection URL.") from exc
        try:
            bootstrap_cluster(
                options["admin_url"],
                database=name,
                owner=roles["owner"],
                gateway=roles["gateway"],
                tenant=roles["tenant"],
                owner_password=options["owner_password"] or database.get("PASSWORD") or None,
                gateway_password=(
                    options["gateway_password"] or settings.DATABASES["tenant"]["PASSWORD"] or None
                ),
            )
        except psycopg.Error as exc:
            message = getattr(exc.diag, "message_primary", None) or "connection failed"
            raise CommandError(f"Bootstrap failed: {message}") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Roles {roles['owner']}, {roles['gateway']}, {roles['tenant']} and database "
                f"{name!r} are ready. Next: manage.py migrate"
            )
        )
