"""``manage.py seed_retail``: fill the retail schema with deterministic sample data."""

from __future__ import annotations

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from retail.errors import InvalidInput
from retail.services.seeding import AlreadySeeded, seed_retail


class Command(BaseCommand):
    help = (
        "Seed the retail schema with Zava's 8 stores, 9 categories and 400+ products, "
        "customers, orders from 2020 up to today, inventory and the fixed managers "
        "(store managers, two regional managers, head office). Deterministic for a given "
        "--seed and --end-date. Refuses to run on a seeded schema unless --reset."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--customers", type=int, default=50_000, help="Number of customers (default 50000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--reset", action="store_true", help="Delete existing retail data first."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the schema is already seeded.",
        )
        parser.add_argument(
            "--end-date",
            type=date.fromisoformat,
            default=None,
            help="Last possible order date, YYYY-MM-DD (default: today, UTC).",
        )

    def handle(self, *args, **options) -> None:
        bar = tqdm(
            desc="Seeding",
            unit=" rows",
            unit_scale=True,
            disable=options["verbosity"] == 0,
            file=self.stderr,
        )

        def progress(table: str, rows: int) -> None:
            bar.set_postfix_str(table)
            bar.update(rows)

        started = time.perf_counter()
        try:
            summary = seed_retail(
                customers=options["customers"],
                seed=options["seed"],
                reset=options["reset"],
                end_date=options["end_date"],
                progress=progress,
            )
        except AlreadySeeded as exc:
            bar.close()
            if options["if_empty"]:
                self.stdout.write("Retail schema already seeded; nothing to do.")
                return
            raise CommandError(exc.message) from exc
        except InvalidInput as exc:
            bar.close()
            raise CommandError(exc.message) from exc
        bar.close()
        elapsed = time.perf_counter() - started
        if options["verbosity"] == 0:
            return
        for table, rows in summary.rows.items():
            self.stdout.write(f"  {table:<14} {rows:>10,}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded in {elapsed:.1f} s; orders from {summary.first_order} "
                f"to {summary.last_order}."
            )
        )
