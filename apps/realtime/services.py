"""Writes of the realtime app: callback deliveries and the clients' webhook secrets."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q

from apps.accounts.models import Client
from apps.catalog.failures import egress_forbidden, failure_reason, scrub
from apps.core.egress_http import EgressTransport
from apps.core.fields import UnreadableSecret
from apps.realtime.models import AsyncCall, CallbackDelivery


class CallbackTooSlow(Exception):
    """The endpoint took longer than GATEWAY_CALLBACK_TIMEOUT_S in all to answer."""


class SecretUnreadable(Exception):
    """The client's webhook secret cannot be decrypted with the configured keys."""


def client_webhook_secret(*, client_id: int) -> str:
    """The client's webhook secret, made (once) on first use."""
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client_id)
        if isinstance(client.webhook_secret, UnreadableSecret):
            raise SecretUnreadable(f"The webhook secret of {client.slug} cannot be decrypted.")
        if not client.webhook_secret:
            client.webhook_secret = "whsec_" + secrets.token_urlsafe(32)  # type: ignore[assignment]
            client.save(update_fields=["webhook_secret", "updated_at"])
        return client.webhook_secret


def webhook_signature(*, secret: str, body: bytes, timestamp: int) -> str:
    """X-Signature, in Stripe's form: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
    under the client's secret. The timestamp is signed too, so a receiver can refuse a
    delivery replayed later (docs/async.md shows the check)."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def callback_body(call: AsyncCall) -> bytes:
    return json.dumps(
        {
            "request_id": call.request_id,
            "service": call.service,
            "method": call.method,
            "status": call.status,
            "http_status": call.result_status,
            "result": call.result,
        },
        cls=DjangoJSONEncoder,
    ).encode()


def callback_deliver(*, call_id: int) -> CallbackDelivery | None:
    """POST a final call's result to its callback URL once; the attempt is stored either way.

    None when there is nothing to deliver (no URL, not final, or already delivered).
    """
    call = AsyncCall.objects.get(pk=call_id)
    if (
        not call.callback_url
        or not call.is_final
        or call.deliveries.filter(Q(delivered=True) | Q(final=True)).exists()
    ):
        return None
    attempt = call.deliveries.count() + 1
    delivery = CallbackDelivery(call=call, attempt=attempt, url=call.callback_url)
    started = time.monotonic()
    try:
        secret = client_webhook_secret(client_id=call.client_id)
        body = callback_body(call)
        status, text = _post(
            call.callback_url,
            body=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "service-gateway/1.0",
                "Accept-Encoding": "identity",  # the size cap counts the bytes as they come
                "X-Request-ID": call.request_id,
                "X-Signature": webhook_signature(
                    secret=secret, body=body, timestamp=int(time.time())
                ),
                "X-Delivery-Attempt": str(attempt),
            },
        )
        delivery.status_code = status
        delivery.delivered = 200 <= status < 300
        if not delivery.delivered:
            delivery.error = scrub(f"HTTP {status}: {text}", limit=500)
    except SecretUnreadable:
        delivery.error = "the client's webhook secret cannot be decrypted"
    except CallbackTooSlow:
        delivery.error = "no full answer within GATEWAY_CALLBACK_TIMEOUT_S"
    except httpx.InvalidURL:
        delivery.error, delivery.final = "the URL is not valid; not retried", True
    except httpx.HTTPError as exc:
        # Our name for the failure, never httpx's text (it holds the URL, query and all).
        delivery.error = failure_reason(exc)
        if egress_forbidden(exc):  # asking again gets the same answer
            delivery.error, delivery.final = f"{delivery.error}; not retried", True
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    delivery.save()
    return delivery


def _post(url: str, *, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST to a client's URL: only to an address the egress policy allows (the URL is the
    client's), no redirect followed, at most GATEWAY_CALLBACK_TIMEOUT_S in all and the first
    GATEWAY_CALLBACK_MAX_RESPONSE_BYTES of the answer read. The status and that text."""
    limit = settings.GATEWAY_CALLBACK_MAX_RESPONSE_BYTES
    timeout = settings.GATEWAY_CALLBACK_TIMEOUT_S
    deadline = time.monotonic() + timeout
    with (
        httpx.Client(transport=EgressTransport(), timeout=timeout, follow_redirects=False) as http,
        http.stream("POST", url, content=body, headers=headers) as response,
    ):
        answer = b""
        for chunk in response.iter_raw():
            answer += chunk[: limit - len(answer)]
            if len(answer) >= limit:
                break
            if time.monotonic() > deadline:
                raise CallbackTooSlow(f"no full answer within {timeout} s")
        return response.status_code, answer.decode("utf-8", "replace")
