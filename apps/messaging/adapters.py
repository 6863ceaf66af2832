"""The base of adapters that send messages (email, sms): optional secrets and webhooks."""

from __future__ import annotations

from typing import ClassVar

from apps.catalog.providers import ProviderAdapter
from apps.messaging.webhooks.base import WebhookReceiver


class MessagingAdapter(ProviderAdapter):
    """A ProviderAdapter whose credentials are not all needed to send.

    `credential_fields` lists every secret ops may store (what the admin and gateway_apply
    accept), including the webhook's; `required_credentials` only those a send needs.
    `webhook` is the vendor's event webhook receiver, if the gateway accepts its events.
    """

    required_credentials: ClassVar[tuple[str, ...] | None] = ()
    webhook: ClassVar[type[WebhookReceiver] | None] = None
