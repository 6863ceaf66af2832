"""Mailgun: the Messages API and its signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from typing import Any
from urllib.parse import quote

from apps.catalog.providers import (
    OUTCOME_MISCONFIGURED,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.email.message import joined, outgoing_email
from apps.messaging.adapters import MessagingAdapter
from apps.messaging.models import WEBHOOK_TOKEN_MAX_LENGTH, DeliveryStatus
from apps.messaging.webhooks.base import (
    DeliveryUpdate,
    InboundWebhook,
    SignatureRejected,
    SignedToken,
    WebhookMalformed,
    WebhookReceiver,
    from_unix,
    signed_recently,
)

# Which of our inputs a Mailgun 400 message ("'to' parameter is not a valid address") names.
_PARAMETERS = {
    "from": "from_email",
    "to": "to",
    "cc": "cc",
    "bcc": "bcc",
    "subject": "subject",
    "text": "body_plain_text",
    "html": "body_html",
    "attachment": "attachments",
    "h:Reply-To": "reply_to",
}
_PARAMETER_IN_MESSAGE = re.compile(
    r"'?\b(h:Reply-To|from|to|cc|bcc|subject|text|html|attachment)'? parameter"
)

_STATUSES = {
    "accepted": DeliveryStatus.ACCEPTED,
    "delivered": DeliveryStatus.DELIVERED,
    "opened": DeliveryStatus.OPENED,
    "clicked": DeliveryStatus.CLICKED,
    "unsubscribed": DeliveryStatus.UNSUBSCRIBED,
    "complained": DeliveryStatus.COMPLAINED,
    "rejected": DeliveryStatus.DROPPED,
}


class MailgunWebhook(WebhookReceiver):
    """Mailgun webhooks post `{"signature": {"timestamp", "token", "signature"},
    "event-data": {...}}`; `signature` is the hex HMAC-SHA256 of timestamp + token keyed with
    the HTTP webhook signing key (Mailgun: Sending > Webhooks), stored as the credential
    `webhook_signing_key`.

    The signature does not cover event-data, so, as Mailgun's "Securing Webhooks" asks, the
    timestamp must be recent and each token is accepted once: a captured signature can then
    carry no forged events.
    """

    credential_fields = ("webhook_signing_key",)

    def verify(self, request: InboundWebhook) -> SignedToken:
        try:
            signed = json.loads(request.body)["signature"]
            timestamp, token, signature = (
                str(signed["timestamp"]),
                str(signed["token"]),
                str(signed["signature"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise SignatureRejected("no signature object in the body") from exc
        expected = hmac.new(
            self.credentials["webhook_signing_key"].encode(),
            (timestamp + token).encode(),
            hashlib.sha256,
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise SignatureRejected("the signature does not match the signing key")
        signed_at = signed_recently(timestamp)
        if len(token) > WEBHOOK_TOKEN_MAX_LENGTH:  # Mailgun's are 50 characters
            raise SignatureRejected("the token is longer than any Mailgun sends")
        return SignedToken(token, signed_at)

    def updates(self, request: InboundWebhook) -> list[DeliveryUpdate]:
        data = json.loads(request.body)["event-data"]
        if not isinstance(data, dict):
            raise WebhookMalformed("event-data is not an object")
        event = data["event"]
        status = _STATUSES.get(event, DeliveryStatus.OTHER)
        if event == "failed":
            permanent = data.get("severity") == "permanent"
            status = DeliveryStatus.BOUNCED if permanent else DeliveryStatus.DEFERRED
        delivery = data.get("delivery-status") or {}
        return [
            DeliveryUpdate(
                event_id=data["id"],
                message_id=data["message"]["headers"]["message-id"],
                event=event,
                status=status,
                occurred_at=from_unix(data["timestamp"]),
                recipient=data.get("recipient", ""),
                detail=str(delivery.get("description") or delivery.get("message") or ""),
                payload=data,
            )
        ]


@registry.provider
class Mailgun(MessagingAdapter):
    """Mailgun Messages API, https://documentation.mailgun.com/docs/mailgun/api-reference/.

    `POST /v3/{domain}/messages`, HTTP Basic `api:<api_key>`, form-encoded (multipart when
    there are attachments); 200 `{"id": "<...@domain>", "message": "Queued. Thank you."}`.
    Errors: 400 `{"message": ...}` the message is invalid, 401 the key is refused, 403 the
    domain may not send, 404 unknown domain, 413 too large, 429 rate limited, 5xx.
    The EU region's base URL is https://api.eu.mailgun.net.

    No health probe: a domain sending key may call nothing but the Messages endpoint, so any
    other request would report a healthy provider as failing.
    """

    key = "email.mailgun"
    display_name = "Mailgun"
    default_base_url = "https://api.mailgun.net"
    default_timeout_ms = 5000
    credential_fields = ("api_key", "domain", "webhook_signing_key")
    required_credentials = ("api_key", "domain")
    webhook = MailgunWebhook

    @provides("send")
    async def send_email(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        email = await outgoing_email(payload)
        form: dict[str, str] = {
            "from": email.sender.formatted,
            "to": joined(email.to),
            "subject": email.subject,
            "text": email.text,
        }
        if email.cc:
            form["cc"] = joined(email.cc)
        if email.bcc:
            form["bcc"] = joined(email.bcc)
        if email.reply_to:
            form["h:Reply-To"] = email.reply_to.formatted
        if email.html:
            form["html"] = email.html
        files = [("attachment", (a.name, a.content, a.content_type)) for a in email.attachments]
        credentials = self.config.credentials
        response = await self.send(
            "POST",
            f"/v3/{quote(credentials['domain'], safe='')}/messages",
            data=form,
            files=files or None,
            auth=("api", credentials["api_key"]),
        )
        self.raise_for_server_error(response)
        status = response.status_code
        if status == 200:
            message_id = str(self.json_of(response)["id"]).strip().strip("<>")
            return {"accepted": True, "message_id": message_id}
        if status == 404:
            raise ProviderFault(OUTCOME_MISCONFIGURED, f"HTTP 404: {_message(response.content)}")
        if status == 413:
            raise InvalidInput(
                "Mailgun refused the message as too large.",
                errors={"attachments": [_message(response.content)]},
            )
        if status == 400:
            message = _message(response.content)
            named = _PARAMETER_IN_MESSAGE.search(message)
            field = _PARAMETERS[named.group(1)] if named else "non_field_errors"
            raise InvalidInput(f"Mailgun refused the message: {message}", errors={field: [message]})
        raise self.refusal(status, f"HTTP {status}: {_message(response.content)}")


def _message(content: bytes) -> str:
    """Mailgun's `message`, or the plain-text body some of its errors have ("Forbidden")."""
    try:
        body = json.loads(content)
    except ValueError:
        return content.decode(errors="replace").strip()[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else str(body)[:200]
