"""Twilio Programmable Messaging: the Messages resource and its signed status callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from django.utils import timezone

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.messaging.adapters import MessagingAdapter
from apps.messaging.models import DeliveryStatus
from apps.messaging.webhooks.base import (
    DeliveryUpdate,
    InboundWebhook,
    SignatureRejected,
    WebhookMalformed,
    WebhookReceiver,
)

# Documented error codes (https://www.twilio.com/docs/api/errors) about the client's input.
_INVALID_INPUT = {
    21211: "to_number",  # Invalid 'To' phone number
    21214: "to_number",  # 'To' phone number cannot be reached
    21612: "to_number",  # 'To' number is not currently reachable via SMS
    21614: "to_number",  # 'To' number is not a valid mobile number
    21610: "to_number",  # The recipient replied STOP (unsubscribed)
    21212: "sender",  # Invalid 'From' phone number
    21606: "sender",  # 'From' is not an SMS-capable number of this account
    21602: "body",  # Message body is required
    21617: "body",  # The concatenated message body exceeds 1600 characters
}
# Our account's trouble, never the client's: another provider may send it.
_FAULTS = {
    20003: OUTCOME_AUTH,  # Authentication error
    20005: OUTCOME_AUTH,  # Account not active
    20404: OUTCOME_MISCONFIGURED,  # Resource not found: a wrong Account SID
    21408: OUTCOME_OUTAGE,  # Permission to send to this region is not enabled
    30001: OUTCOME_OUTAGE,  # Queue overflow
}

_STATUSES = {
    "accepted": DeliveryStatus.ACCEPTED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}


def request_signature(auth_token: str, url: str, params: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the full URL followed by every POST parameter
    name and value, sorted by name (https://www.twilio.com/docs/usage/security)."""
    # Each distinct value once, as Twilio's own validator does.
    signed = url + "".join(name + value for name, value in sorted(set(params)))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _with_and_without_port(url: str) -> list[str]:
    """Twilio may sign the URL with or without the default port; its own library tries both."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    bare = urlunsplit(parts._replace(netloc=host))
    with_port = urlunsplit(parts._replace(netloc=f"{host}:{parts.port or default}"))
    return list(dict.fromkeys([url, bare, with_port]))


class TwilioStatusCallback(WebhookReceiver):
    """Message status callbacks: a form POST to the message's StatusCallback URL, signed in
    X-Twilio-Signature with the account's auth token (the credential `auth_token`).

    The URL must be the one Twilio called: behind a proxy that terminates TLS, set Django's
    SECURE_PROXY_SSL_HEADER so that the gateway sees https. Twilio gives no event id; a
    message reaches each status once, so (MessageSid, MessageStatus) is the event's id.
    """

    credential_fields = ("auth_token",)

    def verify(self, request: InboundWebhook) -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise SignatureRejected("X-Twilio-Signature is required")
        params = self._params(request)
        token = self.credentials["auth_token"]
        for url in _with_and_without_port(request.url):
            expected = request_signature(token, url, params)
            if hmac.compare_digest(expected.encode(), signature.encode()):
                return
        raise SignatureRejected("X-Twilio-Signature does not match the URL and parameters")

    @staticmethod
    def _params(request: InboundWebhook) -> list[tuple[str, str]]:
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return []
        return parse_qsl(request.body.decode(), keep_blank_values=True)

    def updates(self, request: InboundWebhook) -> list[DeliveryUpdate]:
        form = dict(self._params(request))
        if "MessageSid" not in form:
            raise WebhookMalformed("not a message status callback (no MessageSid)")
        status = form["MessageStatus"]
        error = form.get("ErrorCode", "")
        return [
            DeliveryUpdate(
                event_id=f"{form['MessageSid']}:{status}",
                message_id=form["MessageSid"],
                event=status,
                status=_STATUSES.get(status, DeliveryStatus.OTHER),
                occurred_at=timezone.now(),
                recipient=form.get("To", ""),
                detail=f"error {error}" if error else "",
                payload=form,
            )
        ]


@registry.provider
class Twilio(MessagingAdapter):
    """Twilio Messages, https://www.twilio.com/docs/messaging/api/message-resource.

    `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP Basic (Account SID, auth
    token), form-encoded To, From, Body (and StatusCallback when the optional credential
    `status_callback` is set: the URL of this gateway's /api/v1/webhooks/<slug>/). 201 with
    the message resource (`sid`, `status`, `num_segments`). Errors are
    `{"code", "message", "more_info", "status"}`.
    """

    key = "sms.twilio"
    display_name = "Twilio"
    default_base_url = "https://api.twilio.com"
    default_timeout_ms = 5000
    credential_fields = ("account_sid", "auth_token", "status_callback")
    required_credentials = ("account_sid", "auth_token")
    webhook = TwilioStatusCallback

    async def health_probe(self) -> None:
        """`GET /2010-04-01/Accounts/{AccountSid}.json`: Twilio answers, the account is active."""
        credentials = self.config.credentials
        sid = credentials["account_sid"]
        response = await self.send(
            "GET",
            f"/2010-04-01/Accounts/{quote(sid, safe='')}.json",
            auth=(sid, credentials["auth_token"]),
        )
        self.raise_for_server_error(response)
        if response.status_code in (401, 403, 404):
            raise ProviderFault(OUTCOME_AUTH, f"HTTP {response.status_code}")
        status = self.json_of(response)["status"]
        if status != "active":
            raise ProviderFault(OUTCOME_AUTH, f"the account is {status}")

    @provides("send")
    async def send_sms(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        credentials = self.config.credentials
        sid = credentials["account_sid"]
        form = {"To": payload["to_number"], "From": payload["sender"], "Body": payload["body"]}
        if credentials.get("status_callback"):
            form["StatusCallback"] = credentials["status_callback"]
        response = await self.send(
            "POST",
            f"/2010-04-01/Accounts/{quote(sid, safe='')}/Messages.json",
            data=form,
            auth=(sid, credentials["auth_token"]),
        )
        self.raise_for_server_error(response)
        answer = self.json_of(response)
        if response.status_code in (200, 201):
            return {
                "accepted": True,
                "message_id": str(answer["sid"]),
                "segments": int(answer["num_segments"]),
            }
        code, message = answer["code"], str(answer.get("message", ""))
        detail = f"HTTP {response.status_code}, error {code}: {message}"
        if code in _FAULTS:
            raise ProviderFault(_FAULTS[code], detail)
        if response.status_code == 400:
            field = _INVALID_INPUT.get(code, "non_field_errors")
            raise InvalidInput(f"Twilio refused the message: {message}", errors={field: [message]})
        raise self.refusal(response.status_code, detail)
