"""Background calls: the durable record of a call answered 202 and run by a worker.

The record is written when the call is admitted (authenticated, validated, its credit held)
and is final once its ledger row is written, in the same transaction. Its result is what
the status URL, the websocket and the callback show.
"""

from __future__ import annotations

from django.db import models

from apps.core.fields import MoneyField


class AsyncCall(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINAL = (Status.SUCCEEDED, Status.FAILED)

    request_id = models.CharField(max_length=128)
    client = models.ForeignKey(
        "accounts.Client", on_delete=models.PROTECT, related_name="async_calls"
    )
    api_key = models.ForeignKey(
        "accounts.ClientApiKey",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="async_calls",
    )
    channel = models.CharField(max_length=10)
    service = models.SlugField(max_length=50)
    method = models.SlugField(max_length=50)
    body = models.TextField(help_text="The call's JSON payload, as the client sent it.")
    country = models.CharField(max_length=2, blank=True)
    price = MoneyField(help_text="What the call is charged if it is billable.")
    # The credit hold taken at admission (its row is deleted when the call settles).
    hold_id = models.BigIntegerField(null=True, blank=True)
    # Set when the call took one of the month's free calls (the month it counts in).
    free_month_start = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    runs = models.PositiveSmallIntegerField(default=0, help_text="Runs started by a worker.")
    attempts = models.JSONField(default=list, blank=True, help_text="Every provider attempt.")
    # A run holds the call until then; a redelivered task waits for it to pass.
    lease_until = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    result_status = models.PositiveSmallIntegerField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    callback_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client", "request_id"], name="async_call_request_id")
        ]

    def __str__(self) -> str:
        return f"{self.request_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def group_name(self) -> str:
        """The Channels group its websocket subscribers wait in."""
        return f"async-call.{self.pk}"


class CallbackDelivery(models.Model):
    """One attempt to POST a background call's result to its callback URL."""

    call = models.ForeignKey(AsyncCall, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveSmallIntegerField()
    url = models.URLField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    delivered = models.BooleanField(default=False)
    final = models.BooleanField(
        default=False,
        help_text="Not retried: the URL can never be delivered to (e.g. the egress policy "
        "refuses its address); `error` says why.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["call", "attempt"]
        verbose_name_plural = "callback deliveries"

    def __str__(self) -> str:
        return f"{self.call.request_id} #{self.attempt}"
