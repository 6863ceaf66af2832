"""A development provider: prints the message with Django's console email backend."""

from __future__ import annotations

import sys
from typing import Any

from django.core.mail.backends.console import EmailBackend

from apps.catalog.providers import CallContext, provides
from apps.catalog.registry import registry
from apps.integrations.email.message import mime_message, outgoing_email
from apps.messaging.adapters import MessagingAdapter


@registry.provider
class ConsoleEmail(MessagingAdapter):
    """Delivers nowhere: the whole message is written to standard output, as Django's
    console backend writes it. For the offline demo and local development."""

    key = "email.console"
    default_slug = "email-console"
    display_name = "Console (prints the message, sends nothing)"
    default_base_url = "console://stdout"
    default_timeout_ms = 1000

    @provides("send")
    async def send_email(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        message, message_id = mime_message(await outgoing_email(payload))
        EmailBackend(stream=sys.stdout).send_messages([message])
        return {"accepted": True, "message_id": message_id}
