"""What became of the emails and text messages the gateway sent.

The ledger row of a call is append-only; a message's later life (delivered, bounced, opened)
is recorded here, linked to that row: one SentMessage per successful send, one DeliveryEvent
per event a provider posted to its webhook.
"""

from django.db import models
from django.utils import timezone


class DeliveryStatus(models.TextChoices):
    """Vendors' event names, normalised."""

    ACCEPTED = "accepted", "Accepted by the provider"
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    DEFERRED = "deferred", "Deferred (retrying)"
    DELIVERED = "delivered", "Delivered"
    READ = "read", "Read"
    OPENED = "opened", "Opened"
    CLICKED = "clicked", "Link clicked"
    BOUNCED = "bounced", "Bounced"
    DROPPED = "dropped", "Dropped"
    FAILED = "failed", "Failed"
    UNDELIVERED = "undelivered", "Undelivered"
    COMPLAINED = "complained", "Marked as spam"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    OTHER = "other", "Other"


class SentMessage(models.Model):
    """A message a provider accepted, under the provider's own message id."""

    id = models.BigAutoField(primary_key=True)
    # No foreign key in the database: the ledger is partitioned on PostgreSQL (ledger 0014),
    # and its key there is (id, created_at).
    ledger_entry = models.OneToOneField(
        "ledger.LedgerEntry",
        on_delete=models.PROTECT,
        related_name="sent_message",
        db_constraint=False,
    )
    service = models.CharField(max_length=50)
    provider = models.CharField(max_length=50, help_text="Slug of the provider that sent it.")
    message_id = models.CharField(max_length=255, help_text="The provider's message id.")
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.ACCEPTED
    )
    # When the latest vendor event happened; empty until the first one arrives (the vendor's
    # clock, not ours, orders events).
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "message_id"], name="sent_message_unique_per_provider"
            )
        ]
        # Ops paste a message id from a vendor's dashboard without naming the provider; the
        # unique index above leads with the provider and cannot serve that search.
        indexes = [models.Index(fields=["message_id"], name="sent_message_id")]

    def __str__(self) -> str:
        return f"{self.provider} {self.message_id}: {self.status}"


class DeliveryEvent(models.Model):
    """One event a provider posted; recorded once per vendor event id."""

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=50)
    event_id = models.CharField(max_length=255, help_text="The vendor's id of this event.")
    message_id = models.CharField(max_length=255, db_index=True)
    # Empty until the call that sent the message is recorded (an event may arrive first).
    sent_message = models.ForeignKey(
        SentMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    event = models.CharField(max_length=50, help_text="The vendor's name for the event.")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices)
    recipient = models.CharField(max_length=320, blank=True)
    detail = models.TextField(blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="delivery_event_unique_per_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.message_id}: {self.event}"


WEBHOOK_TOKEN_MAX_LENGTH = 255


class WebhookToken(models.Model):
    """A one-time token a vendor signed (Mailgun's `token`), kept while its timestamp is fresh.

    Mailgun's signature covers `timestamp + token`, not the body: a captured signature would
    carry any forged events. The unique constraint lets each token in once, across every
    process, in the transaction that records its events (so a vendor's retry after our
    failure is still accepted). Rows past `expires_at` are refused by the timestamp window
    anyway and are purged as new tokens arrive.
    """

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=50)
    token = models.CharField(max_length=WEBHOOK_TOKEN_MAX_LENGTH)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "token"], name="webhook_token_once")
        ]

    def __str__(self) -> str:
        return f"{self.provider} token until {self.expires_at:%Y-%m-%d %H:%M:%S}"
