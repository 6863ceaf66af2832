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

from apps.accounts.models import Client
from apps.core.fields import UnreadableSecret
from apps.realtime.models import AsyncCall, CallbackDelivery


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


def webhook_signature(*, secret: str, body: bytes) -> str:
    """X-Signature: the hex HMAC-SHA256 of the exact body under the client's secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


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
        or call.deliveries.filter(delivered=True).exists()
    ):
        return None
    attempt = call.deliveries.count() + 1
    delivery = CallbackDelivery(call=call, attempt=attempt, url=call.callback_url)
    started = time.monotonic()
    try:
        secret = client_webhook_secret(client_id=call.client_id)
        body = callback_body(call)
        response = httpx.post(
            call.callback_url,
            content=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "service-gateway/1.0",
                "X-Request-ID": call.request_id,
                "X-Signature": webhook_signature(secret=secret, body=body),
                "X-Delivery-Attempt": str(attempt),
            },
            timeout=settings.GATEWAY_CALLBACK_TIMEOUT_S,
            follow_redirects=False,
        )
        delivery.status_code = response.status_code
        delivery.delivered = 200 <= response.status_code < 300
        if not delivery.delivered:
            delivery.error = f"HTTP {response.status_code}: {response.text[:500]}"
    except (httpx.HTTPError, SecretUnreadable) as exc:
        delivery.error = f"{type(exc).__name__}: {exc}"[:2000]
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    delivery.save()
    return delivery
