"""python manage.py ledger_archive --before YYYY-MM --out DIR [--keep-table] [--dry-run]

Archives every month partition of the ledger wholly before the month given (PostgreSQL; see
apps.ledger.archive): each is exported to DIR/<partition>.csv.gz with a manifest, checked,
then detached and dropped (--keep-table keeps it as the plain table ledger_archived_pYYYY_MM).
Balances do not change: each client's archived sum is carried forward in one row. The current
month and later ones are refused, and the last one until a day after it ended.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ledger.archive import ArchiveRefused, ledger_month_archive, month_figures
from apps.ledger.months import MONTH_CLOSES_AFTER, first_open_month
from apps.ledger.partitions import is_partitioned, ledger_partitions

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class Command(BaseCommand):
    help = "Export and detach the ledger's month partitions before a month (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--before",
            required=True,
            metavar="YYYY-MM",
            help="Archive the months before this one (at most the current month, a day after "
            "the last one ended).",
        )
        parser.add_argument("--out", type=Path, help="The directory for the files.")
        parser.add_argument(
            "--keep-table",
            action="store_true",
            help="Keep each detached partition as a plain table instead of dropping it.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be archived; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        before = _month(options["before"])
        # A month that ended less than MONTH_CLOSES_AFTER ago may still get rows (a node's
        # clock behind, a call begun before midnight): the call would fail on its dropped
        # partition. The same moment the rollup closes a month.
        current = first_open_month()
        if before > current:
            raise CommandError(
                f"--before {before:%Y-%m} would archive the current month or one that ended "
                f"less than {MONTH_CLOSES_AFTER.total_seconds() / 3600:.0f} hours ago; the "
                f"latest allowed now is --before {current:%Y-%m}"
            )
        if not is_partitioned():
            raise CommandError(
                "The ledger is not partitioned: archiving needs PostgreSQL with migration "
                "ledger 0014 applied (SQLite keeps one table)."
            )
        out: Path | None = options["out"]
        if not options["dry_run"]:
            if out is None:
                raise CommandError("--out DIR is required (or --dry-run)")
            if not out.is_dir():
                raise CommandError(f"--out {out}: no such directory")
        months = [p for p in ledger_partitions() if p.month < before]
        if not months:
            self.stdout.write(f"No month partition before {before:%Y-%m}; nothing to archive.")
            return
        for partition in months:
            if options["dry_run"]:
                figures = month_figures(partition)
                self.stdout.write(
                    f"would archive {partition.name}: {figures.rows:,} rows, amount "
                    f"{figures.amount}, cost {figures.cost}, price {figures.price}; "
                    f"{len(figures.carried)} carried-forward row(s)"
                )
                continue
            assert out is not None
            try:
                done = ledger_month_archive(
                    partition=partition, out=out, keep_table=options["keep_table"]
                )
            except ArchiveRefused as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(
                f"archived {done.partition}: {done.rows:,} rows to {out / done.file} (sha256 "
                f"{done.sha256}), {done.carried_rows} carried-forward row(s); "
                + (f"kept as {done.table_kept}" if done.table_kept else "partition dropped")
            )


def _month(text: str) -> date:
    match = _MONTH.match(text)
    if match is None or not int(match[1]) >= 1 or not 1 <= int(match[2]) <= 12:
        raise CommandError(f"--before {text!r}: give a month as YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)
