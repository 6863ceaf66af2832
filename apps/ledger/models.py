"""The ledger: one row per call, and one per top-up, refund or adjustment.

Every row says what it moved the client's balance by (`amount`), so a client's balance is
always the sum of its rows. Rows are never changed or deleted: a mistake is corrected by a
reversing row that names the row it reverses, why, and which staff user made it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.core.fields import MoneyField


class LedgerIsAppendOnly(Exception):
    """A ledger row was about to be changed or deleted; book a reversing entry instead."""


class LedgerEntryQuerySet(models.QuerySet["LedgerEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise LedgerIsAppendOnly("Ledger rows cannot be updated; book a reversing entry.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly("Ledger rows cannot be deleted; book a reversing entry.")

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise LedgerIsAppendOnly("Ledger rows cannot be updated; book a reversing entry.")

    def update_or_create(self, *args: Any, **kwargs: Any) -> Any:
        raise LedgerIsAppendOnly("Ledger rows cannot be updated; book a reversing entry.")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"  # a call: amount is -price
        REFUND = "refund", "Refund"  # reverses a charge: +price
        TOPUP = "topup", "Top-up"  # money received: +
        ADJUSTMENT = "adjustment", "Adjustment"  # a correction either way: ±
        # The balance of rows archived by `manage.py ledger_archive`, one row per client and
        # archived month: balances stay the sum of the rows kept. Not revenue (no rollup).
        CARRIED = "carried", "Carried forward"

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"
        # A non-idempotent call stopped after an attempt whose outcome is unknown (a timeout
        # once the request was sent): the provider may have acted. Worth a look by ops.
        UNKNOWN = "unknown", "Outcome unknown"

    class Channel(models.TextChoices):
        HTTP = "http", "HTTP"
        ASYNC = "async", "Async HTTP"
        WS = "ws", "WebSocket"
        MQ = "mq", "Message queue"
        WEBHOOK = "webhook", "Webhook"
        STAFF = "staff", "Staff booking"

    id = models.BigAutoField(primary_key=True)
    # Indexed in Meta (ledger_request_id): a plain index, without the LIKE one Django adds to
    # an indexed CharField, since ids are only ever matched whole. Every call inserts a row,
    # and each index is one more insert.
    request_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHARGE)
    # No index of its own: ledger_by_client (client, created_at, id) serves it.
    client = models.ForeignKey(
        "accounts.Client",
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
    )
    # A key that made calls cannot be deleted (revoke it): its rows keep pointing at it.
    # Indexed in Meta (ledger_by_api_key), without a LIKE index on its text primary key.
    api_key = models.ForeignKey(
        "accounts.ClientApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_entries",
        db_index=False,
    )
    # Slugs, not foreign keys: the ledger keeps what was true at the time of the call.
    service = models.CharField(max_length=50, blank=True)
    method = models.CharField(max_length=50, blank=True)
    provider = models.CharField(max_length=50, blank=True, help_text="The provider that served.")
    status = models.CharField(max_length=20, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_type = models.CharField(max_length=60, blank=True)
    error_detail = models.TextField(blank=True)
    cost = MoneyField(default=0, help_text="What the serving provider costs us for this call.")
    price = MoneyField(default=0, help_text="What the client was charged for this call.")
    amount = MoneyField(
        default=0,
        help_text="What this row moved the balance by: a charge -price, a refund or top-up +, "
        "an adjustment either way.",
    )
    currency = models.CharField(max_length=3)
    cached = models.BooleanField(default=False, help_text="Answered from the response cache.")
    free_call = models.BooleanField(
        default=False, help_text="One of the plan's free calls of the month."
    )
    attempts = models.JSONField(default=list, blank=True)
    routing = models.JSONField(default=dict, blank=True, help_text="The routing decision.")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.HTTP)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="The requester's country.")
    # Neither unique nor a foreign key in the database: on PostgreSQL the ledger is partitioned
    # by month, and a unique index there must include created_at. "Reversed at most once" is
    # LedgerReversal's primary key, claimed in the reversal's transaction (ledger_reverse).
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
        db_constraint=False,
        db_index=False,
        help_text="The row this one corrects.",
    )
    reason = models.TextField(blank=True, help_text="Why a staff user booked this row.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff user who booked this row.",
        db_index=False,  # ledger_by_staff, partial: call rows have none
    )
    created_at = models.DateTimeField(default=timezone.now)  # indexed in Meta

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        ordering = ["-created_at", "-id"]
        # Every call inserts into each index but the partial ones (whose rows are rare), so
        # each is here for a read: a filter and the rows' order, the cursor's tie-breaker
        # (id) included, so the first page is the first rows of one index range. Nothing is
        # unique but the primary key: on PostgreSQL the table is partitioned by month of
        # created_at (apps.ledger.partitions) and each of these is a partitioned index.
        indexes = [
            models.Index(fields=["created_at", "id"], name="ledger_by_time"),
            models.Index(fields=["client", "created_at", "id"], name="ledger_by_client"),
            models.Index(fields=["provider", "created_at", "id"], name="ledger_by_provider"),
            models.Index(fields=["service", "method", "created_at", "id"], name="ledger_by_method"),
            models.Index(fields=["api_key", "created_at", "id"], name="ledger_by_api_key"),
            models.Index(fields=["request_id"], name="ledger_request_id"),
            # The rare values of the low-cardinality columns; the common one (a succeeded
            # HTTP charge) is found by walking ledger_by_time.
            models.Index(
                fields=["status", "created_at", "id"],
                name="ledger_by_status",
                condition=~Q(status="succeeded"),
            ),
            models.Index(
                fields=["channel", "created_at", "id"],
                name="ledger_by_channel",
                condition=~Q(channel="http"),
            ),
            models.Index(
                fields=["kind", "created_at", "id"],
                name="ledger_by_kind",
                condition=~Q(kind="charge"),
            ),
            # A provider with a status other than succeeded: one range, however rare the pair.
            models.Index(
                fields=["provider", "status", "created_at", "id"],
                name="ledger_provider_failures",
                condition=~Q(status="succeeded"),
            ),
            # Free calls are rare: the admin's "free call: yes" filter reads these only.
            models.Index(
                fields=["created_at", "id"],
                name="ledger_free_calls",
                condition=Q(free_call=True),
            ),
            # Staff bookings only: deleting a user checks its rows (on_delete PROTECT).
            models.Index(
                fields=["created_by"],
                name="ledger_by_staff",
                condition=Q(created_by__isnull=False),
            ),
        ]
        permissions = [("book_ledgerentry", "Can book top-ups, refunds and adjustments")]

    def __str__(self) -> str:
        if self.kind == self.Kind.CHARGE:
            return f"{self.request_id} {self.service}.{self.method} {self.status}"
        return f"{self.request_id} {self.get_kind_display()} {self.amount}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise LedgerIsAppendOnly("Ledger rows cannot be updated; book a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise LedgerIsAppendOnly("Ledger rows cannot be deleted; book a reversing entry.")

    @property
    def margin(self):  # type: ignore[no-untyped-def]
        return self.price - self.cost


class LedgerDay(models.Model):
    """The ledger's call rows summed per accounting day, client, method, provider, country,
    status and channel.

    Kept current in the transaction of each ledger insert (one upsert per row), so a summary
    over months reads thousands of these instead of millions of rows. Only calls and refunds
    are summed: top-ups and adjustments move balances, not revenue. Rebuilt from the rows by
    `manage.py ledger_rollup_rebuild` (after changing ACCOUNTING_TIME_ZONE, for instance).
    """

    day = models.DateField(help_text="In ACCOUNTING_TIME_ZONE.")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="+")
    service = models.CharField(max_length=50, blank=True)
    method = models.CharField(max_length=50, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # So that a summary narrowed to a status or a channel reads buckets, not rows.
    status = models.CharField(max_length=20, blank=True)
    channel = models.CharField(max_length=10, blank=True)
    calls = models.BigIntegerField(default=0)
    cost = MoneyField(default=0, max_digits=20)
    revenue = MoneyField(default=0, max_digits=20)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "client",
                    "service",
                    "method",
                    "provider",
                    "country",
                    "status",
                    "channel",
                ],
                name="ledger_day_bucket_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.client_id} {self.service}.{self.method} via {self.provider}"


class HoldReleaseRun(models.Model):
    """One run of the periodic release of dangling credit holds (ledger.release_dangling_holds).

    Shown read-only in the admin, so ops can see that the task runs and what it released.
    """

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    hold_age_s = models.PositiveIntegerField(help_text="Holds older than this were released.")
    holds_released = models.PositiveIntegerField(default=0)
    amount_released = MoneyField(default=Decimal("0"))

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S}: {self.holds_released} released"


# In modules of their own: the records of a row's reversal and redaction, and the rollup's
# monthly level (apps.ledger.months fills it).
from apps.ledger.correction_models import LedgerRedaction, LedgerReversal  # noqa: E402, F401
from apps.ledger.month_models import LedgerMonth, LedgerMonthClosed  # noqa: E402, F401
