"""Recording sent messages and the delivery events providers post about them."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from apps.catalog.models import Provider
from apps.catalog.registry import registry
from apps.core.errors import InvalidRequest, NotFound
from apps.core.fields import UnreadableSecrets
from apps.ledger.models import LedgerEntry
from apps.messaging.errors import SignatureInvalid, WebhookNotConfigured
from apps.messaging.models import DeliveryEvent, SentMessage
from apps.messaging.replay import webhook_token_spend
from apps.messaging.webhooks.base import (
    DeliveryUpdate,
    InboundWebhook,
    SignatureRejected,
    WebhookMalformed,
    WebhookReceiver,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookReceipt:
    recorded: int
    duplicates: int


def sent_message_record(*, entry: LedgerEntry, message_id: str) -> SentMessage | None:
    """Link the provider's message id to the call's ledger row.

    Events that arrived before the row was written (a fast provider) are linked now. It runs
    in the ledger row's transaction: a clash (a provider repeating a message id) is logged,
    never allowed to lose the row of a message that was sent.
    """
    try:
        with transaction.atomic():
            message = SentMessage.objects.create(
                ledger_entry=entry,
                service=entry.service,
                provider=entry.provider,
                message_id=message_id,
            )
    except IntegrityError:
        logger.error(
            "%s reported message id %s again (request %s): not linked",
            entry.provider,
            message_id,
            entry.request_id,
        )
        return None
    early = list(
        DeliveryEvent.objects.filter(
            provider=entry.provider, message_id=message_id, sent_message=None
        )
    )
    if early:
        DeliveryEvent.objects.filter(pk__in=[e.pk for e in early]).update(sent_message=message)
        _advance_status(message, early)
    return message


def webhook_receiver_for(provider: Provider) -> type[WebhookReceiver] | None:
    adapter = registry.adapters.get(provider.adapter)
    return getattr(adapter, "webhook", None) if adapter else None


def webhook_receive(*, provider_slug: str, request: InboundWebhook) -> WebhookReceipt:
    """Verify a provider's webhook POST and record its events (once per vendor event id)."""
    provider = Provider.objects.filter(slug=provider_slug).first()
    receiver_class = webhook_receiver_for(provider) if provider else None
    if provider is None or receiver_class is None:
        raise NotFound(f"No provider {provider_slug!r} posts webhooks here.")
    credentials = provider.credentials
    if isinstance(credentials, UnreadableSecrets):
        raise WebhookNotConfigured(
            f"The credentials of {provider.slug} cannot be decrypted with the configured keys."
        )
    missing = [name for name in receiver_class.credential_fields if not credentials.get(name)]
    if missing:
        raise WebhookNotConfigured(
            f"{provider.slug} has no {', '.join(missing)} to verify its webhook with."
        )
    receiver = receiver_class(credentials)
    try:
        token = receiver.verify(request)
    except SignatureRejected as rejected:
        logger.warning("webhook of %s refused: %s", provider.slug, rejected)
        headers = {"WWW-Authenticate": receiver.challenge} if receiver.challenge else None
        raise SignatureInvalid(str(rejected), headers=headers) from rejected
    try:
        updates = receiver.updates(request)
    except (WebhookMalformed, KeyError, TypeError, ValueError) as exc:
        raise InvalidRequest(f"The webhook body is not in {provider.slug}'s format: {exc}") from exc
    with transaction.atomic():
        # Spent with the events it brings: a vendor retry after our failure still gets in.
        if token is not None and not webhook_token_spend(provider=provider.slug, token=token):
            logger.warning("webhook of %s refused: its signed token was used before", provider.slug)
            raise SignatureInvalid("This signed token was used before: a replayed webhook.")
        return delivery_events_record(provider=provider.slug, updates=updates)


@transaction.atomic
def delivery_events_record(*, provider: str, updates: Iterable[DeliveryUpdate]) -> WebhookReceipt:
    """Store new events, skip those already stored, and move each message's status on."""
    unique = {u.event_id: u for u in updates}
    seen = set(
        DeliveryEvent.objects.filter(provider=provider, event_id__in=list(unique)).values_list(
            "event_id", flat=True
        )
    )
    fresh = [u for event_id, u in unique.items() if event_id not in seen]
    messages = {
        m.message_id: m
        for m in SentMessage.objects.select_for_update()
        .filter(provider=provider, message_id__in={u.message_id for u in fresh})
        .order_by("pk")
    }
    rows = [
        DeliveryEvent(
            provider=provider,
            event_id=u.event_id,
            message_id=u.message_id,
            sent_message=messages.get(u.message_id),
            event=u.event,
            status=u.status,
            recipient=u.recipient,
            detail=u.detail,
            occurred_at=u.occurred_at,
            payload=u.payload,
        )
        for u in fresh
    ]
    # A concurrent delivery of the same event loses the race on the unique constraint.
    DeliveryEvent.objects.bulk_create(rows, ignore_conflicts=True)
    for message in messages.values():
        _advance_status(message, [row for row in rows if row.sent_message is message])
    return WebhookReceipt(recorded=len(rows), duplicates=len(seen))


def _advance_status(message: SentMessage, events: list[DeliveryEvent]) -> None:
    """The message takes the status of its latest event, if later than what it has."""
    latest = max(events, key=lambda e: e.occurred_at, default=None)
    if latest is None:
        return
    if message.status_at is None or latest.occurred_at >= message.status_at:
        message.status, message.status_at = latest.status, latest.occurred_at
        message.save(update_fields=["status", "status_at"])
