"""Twilio SendGrid: the v3 Mail Send API and the signed Event Webhook."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.email.message import OutgoingEmail, Person, outgoing_email
from apps.messaging.adapters import MessagingAdapter
from apps.messaging.models import DeliveryStatus
from apps.messaging.webhooks.base import (
    DeliveryUpdate,
    InboundWebhook,
    SignatureRejected,
    WebhookMalformed,
    WebhookReceiver,
    from_unix,
    signed_recently,
)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"

# SendGrid's `field` in a 400 answer (e.g. "personalizations.0.to.1.email") -> our input.
_FIELDS = [
    (re.compile(r"^personalizations\.\d+\.to\b"), "to"),
    (re.compile(r"^personalizations\.\d+\.cc\b"), "cc"),
    (re.compile(r"^personalizations\.\d+\.bcc\b"), "bcc"),
    (re.compile(r"^from\b"), "from_email"),
    (re.compile(r"^reply_to\b"), "reply_to"),
    (re.compile(r"^subject\b"), "subject"),
    (re.compile(r"^content\b"), "body_plain_text"),
    (re.compile(r"^attachments\b"), "attachments"),
]

_STATUSES = {
    "processed": DeliveryStatus.ACCEPTED,
    "deferred": DeliveryStatus.DEFERRED,
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.BOUNCED,
    "blocked": DeliveryStatus.BOUNCED,
    "dropped": DeliveryStatus.DROPPED,
    "open": DeliveryStatus.OPENED,
    "click": DeliveryStatus.CLICKED,
    "spamreport": DeliveryStatus.COMPLAINED,
    "unsubscribe": DeliveryStatus.UNSUBSCRIBED,
    "group_unsubscribe": DeliveryStatus.UNSUBSCRIBED,
}


class SendGridEventWebhook(WebhookReceiver):
    """The Event Webhook with signature verification switched on.

    SendGrid signs `timestamp + raw body` with ECDSA P-256 / SHA-256 and sends the base64 DER
    signature and the timestamp in X-Twilio-Email-Event-Webhook-Signature / -Timestamp. The
    verification key (base64 DER, as SendGrid shows it under Mail Settings > Event Webhook >
    Signature Verification) is stored as the credential `webhook_public_key`.
    """

    credential_fields = ("webhook_public_key",)

    def verify(self, request: InboundWebhook) -> None:
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise SignatureRejected(f"{SIGNATURE_HEADER} and {TIMESTAMP_HEADER} are required")
        try:
            key = load_der_public_key(base64.b64decode(self.credentials["webhook_public_key"]))
        except (binascii.Error, ValueError) as exc:
            raise SignatureRejected("the stored webhook_public_key is not a DER key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise SignatureRejected("the stored webhook_public_key is not an ECDSA key")
        try:
            key.verify(
                base64.b64decode(signature),
                timestamp.encode() + request.body,
                ec.ECDSA(hashes.SHA256()),
            )
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise SignatureRejected("the signature does not match the payload") from exc
        # It signs the body too, so a replay can only repeat events (stored once by their
        # sg_event_id); the window bounds even that.
        signed_recently(timestamp)

    def updates(self, request: InboundWebhook) -> list[DeliveryUpdate]:
        events = json.loads(request.body)
        if not isinstance(events, list):
            raise WebhookMalformed("expected a JSON array of events")
        return [
            DeliveryUpdate(
                event_id=event["sg_event_id"],
                message_id=message_id_of(event.get("sg_message_id", "")),
                event=event["event"],
                status=_STATUSES.get(event["event"], DeliveryStatus.OTHER),
                occurred_at=from_unix(event["timestamp"]),
                recipient=event.get("email", ""),
                detail=str(event.get("reason") or event.get("response") or ""),
                payload=event,
            )
            for event in events
        ]


def message_id_of(sg_message_id: str) -> str:
    """The X-Message-Id that Mail Send returned, from an event's sg_message_id.

    SendGrid appends the id of the filter or receiving node: "14c5d75ce93.dfd.64b469.filter0001
    .16648.5515E0B88.0" or "HsJwG8EbRTaCRpyC0PDHKQ.recvd-5b6ccf6b9c-jw8hb-1-62BC9C6B-10.0".
    """
    return re.split(r"\.(?:filter|recvd-)", sg_message_id, maxsplit=1)[0]


def _address(person: Person) -> dict[str, str]:
    return {"email": person.email, **({"name": person.name} if person.name else {})}


def mail_send_body(email: OutgoingEmail) -> dict[str, Any]:
    personalization: dict[str, Any] = {"to": [_address(p) for p in email.to]}
    if email.cc:
        personalization["cc"] = [_address(p) for p in email.cc]
    if email.bcc:
        personalization["bcc"] = [_address(p) for p in email.bcc]
    content = [{"type": "text/plain", "value": email.text}]
    if email.html:
        content.append({"type": "text/html", "value": email.html})
    body: dict[str, Any] = {
        "personalizations": [personalization],
        "from": _address(email.sender),
        "subject": email.subject,
        "content": content,
    }
    if email.reply_to:
        body["reply_to"] = _address(email.reply_to)
    if email.attachments:
        body["attachments"] = [
            {
                "content": a.content_base64,
                "type": a.content_type,
                "filename": a.name,
                "disposition": "attachment",
            }
            for a in email.attachments
        ]
    return body


@registry.provider
class SendGrid(MessagingAdapter):
    """SendGrid v3 Mail Send, https://www.twilio.com/docs/sendgrid/api-reference/mail-send.

    `POST /v3/mail/send` with `Authorization: Bearer <api_key>`; 202 Accepted with an empty
    body and the message id in X-Message-Id. Errors are `{"errors": [{"message", "field",
    "help"}]}`: 400 the message is invalid (the client's input), 401 the key is refused,
    403 the sender is not a verified identity or the key lacks mail.send (our account: fail
    over), 413 the payload is too large, 429 rate limited, 5xx SendGrid's trouble.
    """

    key = "email.sendgrid"
    display_name = "SendGrid"
    default_base_url = "https://api.sendgrid.com"
    default_timeout_ms = 5000
    credential_fields = ("api_key", "webhook_public_key")
    required_credentials = ("api_key",)
    webhook = SendGridEventWebhook

    async def health_probe(self) -> None:
        """`GET /v3/scopes`: SendGrid answers and the key may still send mail."""
        response = await self.send("GET", "/v3/scopes", headers=self._auth())
        self.raise_for_server_error(response)
        if response.status_code in (401, 403):
            raise ProviderFault(OUTCOME_AUTH, f"HTTP {response.status_code}: the key is refused")
        if response.status_code != 200:
            raise ProviderFault(OUTCOME_HTTP_ERROR, f"HTTP {response.status_code}")
        if "mail.send" not in self.json_of(response)["scopes"]:
            raise ProviderFault(OUTCOME_AUTH, "the API key lacks the mail.send scope")

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.credentials['api_key']}"}

    @provides("send")
    async def send_email(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        email = await outgoing_email(payload)
        response = await self.send(
            "POST",
            "/v3/mail/send",
            json=mail_send_body(email),
            headers=self._auth(),
        )
        self.raise_for_server_error(response)
        if response.status_code == 202:
            message_id = response.headers.get("X-Message-Id")
            if not message_id:
                raise ValueError("202 without X-Message-Id")
            return {"accepted": True, "message_id": message_id}
        errors = _errors_of(response.content)
        messages = "; ".join(str(e["message"]) for e in errors) or f"HTTP {response.status_code}"
        if response.status_code == 413:
            raise InvalidInput(
                "SendGrid refused the message as too large.", errors={"attachments": [messages]}
            )
        if response.status_code == 400:
            raise InvalidInput(f"SendGrid refused the message: {messages}", errors=_fields(errors))
        raise self.refusal(response.status_code, f"HTTP {response.status_code}: {messages}")


def _errors_of(content: bytes) -> list[dict[str, Any]]:
    """SendGrid's error list; empty when a proxy answered instead (an HTML 413, say)."""
    try:
        body = json.loads(content)
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def _fields(errors: list[dict[str, Any]]) -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for error in errors:
        field = str(error.get("field") or "")
        ours = next((name for pattern, name in _FIELDS if pattern.match(field)), None)
        named.setdefault(ours or "non_field_errors", []).append(str(error["message"]))
    return named
