"""Postmark: the Email API and its webhooks (which Postmark protects with Basic auth)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_QUOTA,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.email.message import joined, outgoing_email
from apps.messaging.adapters import MessagingAdapter
from apps.messaging.models import DeliveryStatus
from apps.messaging.webhooks.base import (
    DeliveryUpdate,
    InboundWebhook,
    SignatureRejected,
    WebhookMalformed,
    WebhookReceiver,
)

# Postmark refuses messages over 10 MB, text, html and attachments together.
MAX_MESSAGE_BYTES = 10 * 1000 * 1000

# Documented ErrorCodes (https://postmarkapp.com/developer/api/overview#error-codes) that
# say the client's message is wrong, and the input each is about.
_INVALID_INPUT = {
    300: "non_field_errors",  # Invalid email request
    406: "to",  # Inactive recipient (bounced or unsubscribed before)
    411: "attachments",  # Forbidden attachment type
}
# Our account's trouble: another provider may send the message.
_FAULTS = {
    10: OUTCOME_AUTH,  # Bad or missing API token
    400: OUTCOME_MISCONFIGURED,  # Sender signature not found
    401: OUTCOME_MISCONFIGURED,  # Sender signature not confirmed
    405: OUTCOME_QUOTA,  # Not allowed to send: the account ran out of credits
    412: OUTCOME_AUTH,  # Account is pending approval
    413: OUTCOME_AUTH,  # Account may not send
}

_STATUSES = {
    "Delivery": DeliveryStatus.DELIVERED,
    "Bounce": DeliveryStatus.BOUNCED,
    "SpamComplaint": DeliveryStatus.COMPLAINED,
    "Open": DeliveryStatus.OPENED,
    "Click": DeliveryStatus.CLICKED,
    "SubscriptionChange": DeliveryStatus.UNSUBSCRIBED,
}
_WHEN = ("DeliveredAt", "BouncedAt", "ReceivedAt", "ChangedAt")


class PostmarkWebhook(WebhookReceiver):
    """Postmark webhooks carry no signature. Postmark's answer is HTTP Basic credentials in
    the webhook URL (https://user:password@gateway.example.com/api/v1/webhooks/postmark/),
    which it sends as an Authorization header; they are stored as the credentials
    `webhook_username` and `webhook_password`.
    """

    credential_fields = ("webhook_username", "webhook_password")
    challenge = 'Basic realm="postmark webhook"'

    def verify(self, request: InboundWebhook) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic" or not token:
            raise SignatureRejected("Basic credentials are required")
        try:
            username, _, password = base64.b64decode(token).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise SignatureRejected("the Basic credentials are not base64") from exc
        expected = self.credentials
        # Both compared, always: the time taken does not tell which one was wrong.
        good_user = hmac.compare_digest(username.encode(), expected["webhook_username"].encode())
        good_pass = hmac.compare_digest(password.encode(), expected["webhook_password"].encode())
        if not (good_user and good_pass):
            raise SignatureRejected("wrong Basic credentials")

    def updates(self, request: InboundWebhook) -> list[DeliveryUpdate]:
        record = json.loads(request.body)
        if not isinstance(record, dict):
            raise WebhookMalformed("expected one JSON record")
        kind = record["RecordType"]
        return [
            DeliveryUpdate(
                event_id=_event_id(record),
                message_id=record["MessageID"],
                event=kind,
                status=_STATUSES.get(kind, DeliveryStatus.OTHER),
                occurred_at=_occurred_at(record),
                recipient=record.get("Recipient") or record.get("Email") or "",
                detail=str(record.get("Description") or record.get("Details") or ""),
                payload=record,
            )
        ]


def _event_id(record: dict[str, Any]) -> str:
    """Bounces and spam complaints have Postmark's own ID; the other records have none, so
    the same record posted again (a retry) is recognised by its content."""
    if record.get("ID") is not None and record["RecordType"] in ("Bounce", "SpamComplaint"):
        return f"{record['RecordType']}:{record['ID']}"
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return f"{record['RecordType']}:sha256:{hashlib.sha256(canonical.encode()).hexdigest()}"


def _occurred_at(record: dict[str, Any]) -> datetime:
    for name in _WHEN:
        if record.get(name):
            when = parse_datetime(record[name])
            if when is None:
                raise WebhookMalformed(f"{name} is not a date-time")
            return when if timezone.is_aware(when) else when.replace(tzinfo=UTC)
    return timezone.now()


@registry.provider
class Postmark(MessagingAdapter):
    """Postmark Email API, https://postmarkapp.com/developer/api/email-api.

    `POST /email` with `X-Postmark-Server-Token`; 200 `{"To", "SubmittedAt", "MessageID",
    "ErrorCode": 0, "Message": "OK"}`. Errors: 401 for a missing or wrong token, 422 with a
    documented `ErrorCode`, 429 rate limited, 500/503 Postmark's trouble.
    """

    key = "email.postmark"
    display_name = "Postmark"
    default_base_url = "https://api.postmarkapp.com"
    default_timeout_ms = 5000
    credential_fields = ("server_token", "webhook_username", "webhook_password")
    required_credentials = ("server_token",)
    webhook = PostmarkWebhook

    async def health_probe(self) -> None:
        """`GET /server`: Postmark answers and the server token is good."""
        response = await self.send("GET", "/server", headers=self._headers())
        self.raise_for_server_error(response)
        if response.status_code == 401:
            raise ProviderFault(OUTCOME_AUTH, "HTTP 401: the server token was refused")
        if response.status_code != 200:
            raise ProviderFault(OUTCOME_HTTP_ERROR, f"HTTP {response.status_code}")
        server = self.json_of(response)
        if not isinstance(server, dict) or "ID" not in server:
            raise ProviderFault(OUTCOME_MALFORMED, "GET /server did not answer a server")

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "X-Postmark-Server-Token": self.config.credentials["server_token"],
        }

    @provides("send")
    async def send_email(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        email = await outgoing_email(payload)
        if email.size > MAX_MESSAGE_BYTES:
            # Too big for Postmark, not for the others: let them try.
            raise ProviderFault(
                OUTCOME_MISCONFIGURED,
                f"{email.size} bytes: Postmark takes at most {MAX_MESSAGE_BYTES}",
                sent=False,
            )
        body: dict[str, Any] = {
            "From": email.sender.formatted,
            "To": joined(email.to),
            "Subject": email.subject,
            "TextBody": email.text,
            "MessageStream": "outbound",
        }
        if email.cc:
            body["Cc"] = joined(email.cc)
        if email.bcc:
            body["Bcc"] = joined(email.bcc)
        if email.reply_to:
            body["ReplyTo"] = email.reply_to.formatted
        if email.html:
            body["HtmlBody"] = email.html
        if email.attachments:
            body["Attachments"] = [
                {"Name": a.name, "Content": a.content_base64, "ContentType": a.content_type}
                for a in email.attachments
            ]
        response = await self.send(
            "POST",
            "/email",
            json=body,
            headers=self._headers(),
        )
        self.raise_for_server_error(response)
        if response.status_code == 401:
            raise ProviderFault(OUTCOME_AUTH, "HTTP 401: the server token was refused")
        answer = self.json_of(response)
        code, message = answer["ErrorCode"], answer.get("Message", "")
        if response.status_code == 200 and code == 0:
            return {"accepted": True, "message_id": str(answer["MessageID"])}
        if code in _INVALID_INPUT:
            raise InvalidInput(
                f"Postmark refused the message: {message}",
                errors={_INVALID_INPUT[code]: [str(message)]},
            )
        outcome = _FAULTS.get(code, OUTCOME_HTTP_ERROR)
        raise ProviderFault(outcome, f"HTTP {response.status_code}, ErrorCode {code}: {message}")
