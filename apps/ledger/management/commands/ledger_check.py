"""python manage.py ledger_check: is every balance the sum of its client's ledger rows?

Exits 0 when every client's balance equals the sum of its rows' amounts, its `held` equals
its open credit holds, and no hold is older than any call can run; 1 otherwise, listing
each difference. --release-dangling releases those old holds (their process died between
hold and settle), recording each call as interrupted and unbilled. Months archived by
ledger_archive count through their `carried` rows, one per client: the sum still holds.
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ledger.selectors import credit_holds_dangling, ledger_balance_differences
from apps.ledger.services import credit_hold_release_dangling


class Command(BaseCommand):
    help = "Check that every client's balance is the sum of its ledger rows; list differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hold-age",
            type=int,
            default=settings.GATEWAY_DANGLING_HOLD_AGE_S,
            metavar="SECONDS",
            help="A credit hold older than this is dangling (default: %(default)s).",
        )
        parser.add_argument(
            "--release-dangling",
            action="store_true",
            help="Release dangling holds, recording each call as interrupted and unbilled.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["hold_age"] < 0:
            raise CommandError("--hold-age must not be negative")
        problems = 0
        dangling = credit_holds_dangling(older_than=timedelta(seconds=options["hold_age"]))
        for hold in dangling:
            if options["release_dangling"]:
                entry = credit_hold_release_dangling(hold=hold)
                if entry is not None:
                    self.stdout.write(
                        f"released hold of {hold.amount} for {hold.client.slug} "
                        f"({hold.method}, request {hold.request_id}, taken "
                        f"{hold.created_at.isoformat()}); recorded as interrupted"
                    )
                continue
            problems += 1
            self.stdout.write(
                f"{hold.client.slug}: dangling hold of {hold.amount} ({hold.method}, request "
                f"{hold.request_id}, taken {hold.created_at.isoformat()}); release it with "
                "--release-dangling"
            )
        for difference in ledger_balance_differences():
            if difference.balance_off_by:
                problems += 1
                self.stdout.write(
                    f"{difference.client_slug}: balance {difference.balance} but its ledger rows "
                    f"sum to {difference.ledger_sum} (off by {difference.balance_off_by}); "
                    "book an adjustment with the reason once the cause is known"
                )
            if difference.held_off_by:
                problems += 1
                self.stdout.write(
                    f"{difference.client_slug}: held {difference.held} but its open credit "
                    f"holds sum to {difference.holds_sum} (off by {difference.held_off_by})"
                )
        if problems:
            self.stdout.write(f"{problems} difference(s) found.")
            raise SystemExit(1)
        self.stdout.write("Every balance equals the sum of its client's ledger rows.")
