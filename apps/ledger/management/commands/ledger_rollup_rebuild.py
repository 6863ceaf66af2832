"""python manage.py ledger_rollup_rebuild: recompute the rollup from the ledger rows.

The daily level (LedgerDay) from the rows, then the monthly level (LedgerMonth) of every
closed month from the days. Needed after changing ACCOUNTING_TIME_ZONE (days are cut
differently) or after loading rows around the services; calls wait while it runs (the
ledger is locked against inserts).
"""

from typing import Any

from django.core.management.base import BaseCommand

from apps.ledger.rollup import ledger_rollup_rebuild


class Command(BaseCommand):
    help = "Recompute the ledger's rollup (LedgerDay, then LedgerMonth) from its rows."

    def handle(self, *args: Any, **options: Any) -> None:
        rebuilt = ledger_rollup_rebuild()
        self.stdout.write(
            f"Rebuilt the rollup: {rebuilt.days} daily bucket(s), "
            f"{rebuilt.months} monthly bucket(s)."
        )
