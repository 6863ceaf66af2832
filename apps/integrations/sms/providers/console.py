"""A development provider: prints the text message instead of sending it."""

from __future__ import annotations

import sys
import uuid
from typing import Any

from apps.catalog.providers import CallContext, provides
from apps.catalog.registry import registry
from apps.integrations.sms.segments import segment_count
from apps.messaging.adapters import MessagingAdapter


@registry.provider
class ConsoleSms(MessagingAdapter):
    """Delivers nowhere: the message is written to standard output. For the offline demo
    and local development."""

    key = "sms.console"
    default_slug = "sms-console"
    display_name = "Console (prints the message, sends nothing)"
    default_base_url = "console://stdout"
    default_timeout_ms = 1000

    @provides("send")
    async def send_sms(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        message_id = f"console-{uuid.uuid4().hex}"
        segments = segment_count(payload["body"])
        sys.stdout.write(
            f"SMS {message_id} from {payload['sender']} to {payload['to_number']} "
            f"({segments} part{'s' if segments != 1 else ''}):\n{payload['body']}\n{'-' * 79}\n"
        )
        sys.stdout.flush()
        return {"accepted": True, "message_id": message_id, "segments": segments}
