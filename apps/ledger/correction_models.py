"""The records of the ledger's two corrections: a row reversed, and a row's text redacted.

Imported by apps.ledger.models, so Django finds these models there (and code imports them
from there). Who writes them: ledger_reverse (apps.ledger.services) and the data migration
ledger 0008.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LedgerReversal(models.Model):
    """That a ledger row has been reversed, and by which row: its primary key is what keeps a
    row from being reversed twice, whichever node books the reversals.

    The ledger row's own `reverses` cannot be unique on PostgreSQL (the table is partitioned by
    month, and a unique index of a partitioned table must hold created_at); this small table is
    not partitioned. Written in the transaction of the reversing row (ledger_reverse).
    """

    reversed_entry_id = models.BigIntegerField(primary_key=True)
    reversal_id = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.reversed_entry_id} reversed by {self.reversal_id}"


class LedgerRedaction(models.Model):
    """A ledger row whose stored text was rewritten: the one exception to append-only.

    Rows written before issue #12 held vendor error text (request URLs with credentials in
    their query) in `attempts`, `routing` and `error_detail`; the data migration ledger 0008
    replaced it with our own short reasons and wrote one of these per row it changed. Amounts,
    statuses and every other field are never touched.
    """

    # No foreign key in the database: the partitioned ledger's key is (id, created_at).
    entry = models.ForeignKey(
        "ledger.LedgerEntry",
        on_delete=models.PROTECT,
        related_name="redactions",
        db_constraint=False,
    )
    fields = models.JSONField(default=list, help_text="The fields whose text was rewritten.")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.entry_id}: {', '.join(self.fields)}"
