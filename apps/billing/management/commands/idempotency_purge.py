"""python manage.py idempotency_purge: forget Idempotency-Key answers older than 24 hours."""

from typing import Any

from django.core.management.base import BaseCommand

from apps.billing.idempotency import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete stored Idempotency-Key answers older than 24 hours (run it daily)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Purged {idempotency_keys_purge()} idempotency record(s).")
