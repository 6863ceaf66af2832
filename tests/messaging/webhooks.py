"""Vendors' delivery webhooks, signed here exactly as each vendor documents it."""

import base64
import hashlib
import hmac
import json
import secrets
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SENDGRID_URL, MAILGUN_URL = "https://sendgrid.test", "https://mailgun.test"
MAILGUN_KEY = "mailgun-signing-key"


def public_key_b64(private_key) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def sendgrid_signed(private_key, body: bytes, timestamp: str | None = None) -> dict:
    """SendGrid's two headers; signed now unless `timestamp` (Unix seconds) says when."""
    timestamp = timestamp or str(int(time.time()))
    signature = private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }


def webhook(api, provider: str, body: bytes, headers: dict, content_type="application/json"):
    return api.post(
        f"/api/v1/webhooks/{provider}/", body, content_type=content_type, headers=headers
    )


def sendgrid_events(*events: tuple[str, str, int]) -> bytes:
    return json.dumps(
        [
            {
                "email": "ann@example.org",
                "timestamp": timestamp,
                "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
                "event": event,
                "category": ["invoice"],
                "sg_event_id": event_id,
                "sg_message_id": "HsJwG8EbRTaCRpyC0PDHKQ.recvd-5b6ccf6b9c-jw8hb-1-62BC9C6B-10.0",
                **({"response": "250 OK"} if event == "delivered" else {}),
            }
            for event, event_id, timestamp in events
        ]
    ).encode()


def mailgun_event(
    event_id: str,
    event: str,
    message_id: str,
    key: str = MAILGUN_KEY,
    *,
    timestamp: str | None = None,
    token: str | None = None,
) -> bytes:
    """One event as Mailgun posts it: signed now, with a fresh 50-character token, unless
    `timestamp` / `token` are given."""
    timestamp = timestamp or str(int(time.time()))
    token = token or secrets.token_hex(25)
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": {
                "event": event,
                "timestamp": 1795938300.908181,
                "id": event_id,
                "recipient": "ann@example.org",
                "severity": "permanent",
                "delivery-status": {"code": 550, "description": "No such mailbox"},
                "message": {"headers": {"message-id": message_id, "subject": "Your invoice"}},
            },
        }
    ).encode()
