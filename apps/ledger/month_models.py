"""The monthly level of the rollup: closed accounting months summed from their LedgerDay rows.

Imported by apps.ledger.models, so Django finds these models there. What fills them and
when: apps.ledger.months.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from apps.core.fields import MoneyField


class LedgerMonth(models.Model):
    """A closed accounting month's daily buckets summed again, at one of three grains.

    A month is closed once no row can be written into it any more (apps.ledger.months), so
    these never change after they are built. Each grain keeps some of the daily level's
    dimensions and blanks the others ('' or no client); a summary reads the smallest grain
    holding every dimension it groups by or filters on. Summed at ALL, a client with a few
    thousand calls a month has nearly as many buckets as rows; CLIENT and ALL_BUT_CLIENT
    are what bound the reads that never split by both.
    """

    class Grain(models.TextChoices):
        ALL = "all", "Every dimension"
        CLIENT = "client", "The client only"
        ALL_BUT_CLIENT = "no_client", "Every dimension but the client"

    month = models.DateField(help_text="The accounting month's first day.")
    grain = models.CharField(max_length=10, choices=Grain.choices)
    # No client at the grain ALL_BUT_CLIENT. Indexed below with the month.
    client = models.ForeignKey(
        "accounts.Client",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    service = models.CharField(max_length=50, blank=True)
    method = models.CharField(max_length=50, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    calls = models.BigIntegerField(default=0)
    cost = MoneyField(default=0, max_digits=20)
    revenue = MoneyField(default=0, max_digits=20)

    class Meta:
        indexes = [
            models.Index(fields=["grain", "month"], name="ledger_month_by_grain"),
            models.Index(fields=["client", "month"], name="ledger_month_by_client"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.grain} {self.client_id} {self.service}.{self.method}"


class LedgerMonthClosed(models.Model):
    """A month whose monthly level is built: summaries read its LedgerMonth rows instead of
    its days. A month without one is read from its days (slower, never wrong)."""

    month = models.DateField(unique=True, help_text="The accounting month's first day.")
    buckets = models.PositiveIntegerField(default=0, help_text="Its LedgerMonth rows.")
    closed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["month"]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.buckets} bucket(s)"
