"""``manage.py prune_audit``: drop and delete audit rows past their retention; make months ahead."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from retail.services.audit_retention import (
    DEFAULT_BATCH_SIZE,
    count_older_than,
    create_partitions_ahead,
    prune_older_than,
    retention_cutoff,
)

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Remove tool-call audit rows older than the retention period "
        "(ZAVA_AUDIT_RETENTION_DAYS, default 90): the audit is partitioned by month, so "
        "months that ended before the cut-off are dropped whole, and the rest (the boundary "
        "month, the default partition) is deleted a batch per short transaction while the "
        "server keeps auditing calls. Also creates the partitions of this month and the "
        "next two. Run it daily (cron, a Kubernetes CronJob)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            default=settings.ZAVA_AUDIT_RETENTION_DAYS,
            help="Delete rows created more than DAYS days ago (default: %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Only count the rows that would go."
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Rows deleted per transaction (default: %(default)s).",
        )

    def handle(self, *args, older_than: int, dry_run: bool, batch_size: int, **options) -> None:
        if older_than < 0:
            raise CommandError("--older-than must be 0 or more days.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        cutoff = retention_cutoff(older_than)
        total = count_older_than(cutoff)
        when = f"older than {older_than} days (before {cutoff:%Y-%m-%d %H:%M:%S} UTC)"
        if dry_run:
            self.stdout.write(f"Would delete {total:,} audit rows {when}.")
            return
        created = create_partitions_ahead()
        if created:
            logger.info("created audit partitions", extra={"partitions": created})
            self.stdout.write(f"Created audit partitions {', '.join(created)}.")
        with tqdm(
            total=total,
            desc="Pruning audit",
            unit=" rows",
            disable=options["verbosity"] == 0,
            file=self.stderr,
        ) as bar:
            result = prune_older_than(cutoff, batch_size=batch_size, progress=bar.update)
        logger.info(
            "pruned audit",
            extra={
                "dropped": result.dropped,
                "partitions": result.partitions,
                "deleted": result.deleted,
                "batches": result.batches,
                "cutoff": cutoff.isoformat(),
            },
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Deleted {result.total:,} audit rows {when}: {result.dropped:,} by dropping "
                f"{result.partitions} monthly partitions, {result.deleted:,} in "
                f"{result.batches} batches ({result.seconds:.1f} s)."
            )
        )
