"""python manage.py ledger_rollup_rebuild: recompute the daily rollup from the ledger rows.

Needed after changing ACCOUNTING_TIME_ZONE (days are cut differently) or after loading rows
around the services; calls wait while it runs (the ledger is locked against inserts).
"""

from typing import Any

from django.core.management.base import BaseCommand

from apps.ledger.rollup import ledger_rollup_rebuild


class Command(BaseCommand):
    help = "Recompute the ledger's daily rollup (LedgerDay) from its rows."

    def handle(self, *args: Any, **options: Any) -> None:
        buckets = ledger_rollup_rebuild()
        self.stdout.write(f"Rebuilt the daily rollup: {buckets} bucket(s).")
