"""What a vendor's event webhook looks like to the gateway: verify it, then read its events.

Each vendor module (apps/integrations/<service>/providers/<vendor>.py) subclasses
WebhookReceiver and sets it as its adapter's `webhook`; the endpoint
POST /api/v1/webhooks/{provider}/ finds it through the provider row's adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from django.conf import settings
from django.utils import timezone


@dataclass(frozen=True)
class InboundWebhook:
    """A provider's POST, exactly as it arrived (signatures cover the raw bytes)."""

    url: str  # the absolute URL the vendor called, query string included
    headers: Mapping[str, str]
    body: bytes
    content_type: str = ""


@dataclass(frozen=True)
class DeliveryUpdate:
    """One vendor event about one message, normalised."""

    event_id: str  # the vendor's id of the event: what makes a repeated POST harmless
    message_id: str  # the provider's message id, as the send call returned it
    event: str  # the vendor's own name for it
    status: str  # a DeliveryStatus value
    occurred_at: datetime
    recipient: str = ""
    detail: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedToken:
    """A value the vendor signs once per POST (Mailgun's `token`): accepted only once."""

    value: str
    signed_at: datetime


class SignatureRejected(Exception):
    """The request is not signed by the vendor with the secret we hold (or was, too long ago)."""


class WebhookMalformed(Exception):
    """Signed, but not in the vendor's documented format."""


class WebhookReceiver:
    """Verifies and reads one vendor's event webhook. Subclass per vendor.

    `credential_fields` names the secrets `verify` needs, as stored in the provider's
    credentials. `challenge`, when set, is sent as WWW-Authenticate with a 401.
    """

    credential_fields: ClassVar[tuple[str, ...]] = ()
    challenge: ClassVar[str | None] = None

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.credentials = credentials

    def verify(self, request: InboundWebhook) -> SignedToken | None:
        """Raise SignatureRejected unless the vendor signed this request, recently where the
        vendor signs a timestamp (signed_recently). Return the one-time token the vendor
        signed, if its scheme has one: the request is refused if it was seen before."""
        raise NotImplementedError

    def updates(self, request: InboundWebhook) -> list[DeliveryUpdate]:
        """The events in a verified request; WebhookMalformed when they cannot be read."""
        raise NotImplementedError


def from_unix(value: float | int | str) -> datetime:
    return datetime.fromtimestamp(float(value), tz=UTC)


def signed_recently(timestamp: str) -> datetime:
    """The vendor's signed Unix timestamp, if within GATEWAY_WEBHOOK_TOLERANCE_S of now.

    A signature stays valid forever; the window is what keeps a captured request from being
    replayed later. It is checked after the signature, on a timestamp the signature covers.
    """
    try:
        seconds = int(timestamp)
    except ValueError:
        raise SignatureRejected("the signed timestamp is not a Unix time in seconds") from None
    tolerance = settings.GATEWAY_WEBHOOK_TOLERANCE_S
    if abs(timezone.now().timestamp() - seconds) > tolerance:
        raise SignatureRejected(
            f"the signed timestamp is more than {tolerance} s from our clock (a replay?)"
        )
    return from_unix(seconds)
