"""One row per call: who called what, who served it, what it cost us and what we charged."""

from django.db import models
from django.utils import timezone

from apps.core.fields import MoneyField


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        REJECTED = "rejected", "Rejected"

    class Channel(models.TextChoices):
        HTTP = "http", "HTTP"
        ASYNC = "async", "Async HTTP"
        WS = "ws", "WebSocket"
        MQ = "mq", "Message queue"
        WEBHOOK = "webhook", "Webhook"

    id = models.BigAutoField(primary_key=True)
    request_id = models.CharField(max_length=128, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.CHARGE)
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="ledger_entries"
    )
    api_key = models.ForeignKey(
        "accounts.ClientApiKey",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ledger_entries",
    )
    # Slugs, not foreign keys: the ledger keeps what was true at the time of the call.
    service = models.CharField(max_length=50)
    method = models.CharField(max_length=50)
    provider = models.CharField(max_length=50, blank=True, help_text="The provider that served.")
    status = models.CharField(max_length=20, choices=Status.choices)
    http_status = models.PositiveSmallIntegerField()
    error_type = models.CharField(max_length=60, blank=True)
    error_detail = models.TextField(blank=True)
    cost = MoneyField(help_text="What the serving provider costs us for this call.")
    price = MoneyField(help_text="What the client was charged.")
    currency = models.CharField(max_length=3)
    attempts = models.JSONField(default=list, blank=True)
    routing = models.JSONField(default=dict, blank=True, help_text="The routing decision.")
    latency_ms = models.PositiveIntegerField()
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.HTTP)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="The requester's country.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["client", "created_at"], name="ledger_client_time"),
            models.Index(fields=["provider", "created_at"], name="ledger_provider_time"),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.service}.{self.method} {self.status}"

    @property
    def margin(self):  # type: ignore[no-untyped-def]
        return self.price - self.cost
