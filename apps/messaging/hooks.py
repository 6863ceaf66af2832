"""What the messaging app offers the sending methods' MethodSpecs (email.send, sms.send).

The services that send (apps.integrations.email, apps.integrations.sms) plug these in; they
never import the messaging app's services themselves.
"""

from __future__ import annotations

from typing import Any

from apps.ledger.models import LedgerEntry
from apps.messaging.services import sent_message_record


def record_sent_message(entry: LedgerEntry, data: dict[str, Any]) -> None:
    """MethodSpec.on_recorded of the sending methods: runs in the ledger row's transaction."""
    sent_message_record(entry=entry, message_id=str(data["message_id"]))
