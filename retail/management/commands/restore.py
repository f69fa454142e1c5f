"""``manage.py restore``: a dump from ``manage.py backup`` into an empty database."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from infrastructure.database_backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a dump made by `manage.py backup` into the configured database, which "
        "must exist and be empty (a new ZAVA_PGDATA creates both for the embedded server; "
        "on an external server run `manage.py bootstrap_database` first). Roles are not in "
        "a dump: the bootstrap creates them, with the same names (ZAVA_DB_*_ROLE) as when "
        "the dump was made. Restores as the owner role, in one transaction: on any error "
        "nothing is left behind."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The dump file.")

    def handle(self, *args, path: Path, **options) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        connection.close()  # nothing of ours may hold the database while it fills
        database = connection.settings_dict
        self.stdout.write(f"Restoring {path} into database {database['NAME']!r} …")
        try:
            restore(database, path, settings.ZAVA_DB_ROLES)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Restored {path}."))
