"""``manage.py backup``: a consistent custom-format dump of the project's database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from infrastructure.database_backup import BackupError, dump


class Command(BaseCommand):
    help = (
        "Dump the project's database (tables, row-level security policies, grants, the "
        "tenant-identity keys, embeddings) with the bundled pg_dump in custom format, as "
        "the owner role, from one consistent snapshot while the server keeps serving. The "
        "file is readable by its owner only: it holds the HMAC keys and token digests. "
        "Restore it with `manage.py restore`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to",
            type=Path,
            help="The file to write (default: var/backups/zava-<UTC timestamp>.dump).",
        )

    def handle(self, *args, to: Path | None, **options) -> None:
        database = connections[DEFAULT_DB_ALIAS].settings_dict
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = (to or settings.VAR_DIR / "backups" / f"{database['NAME']}-{stamp}.dump").resolve()
        self.stdout.write(f"Dumping database {database['NAME']!r} to {path} …")
        try:
            dump(database, path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        size = path.stat().st_size / 1_048_576
        self.stdout.write(self.style.SUCCESS(f"Wrote {path} ({size:.1f} MiB)."))
