"""One-time webhook tokens: each token a vendor signs is let in once (models.WebhookToken)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.messaging.models import WebhookToken
from apps.messaging.webhooks.base import SignedToken


def webhook_token_spend(*, provider: str, token: SignedToken) -> bool:
    """Record the token as used; False when it was used before (a replay).

    Call it in the transaction that records the request's events: if that fails, the token
    is not spent and the vendor's retry of the same request gets in. A concurrent request
    with the same token waits on the unique index and is refused once this one commits.
    """
    # Past the timestamp window a token is refused anyway: its row is no longer needed.
    WebhookToken.objects.filter(expires_at__lt=timezone.now()).delete()
    try:
        with transaction.atomic():
            WebhookToken.objects.create(
                provider=provider,
                token=token.value,
                expires_at=token.signed_at
                + timedelta(seconds=settings.GATEWAY_WEBHOOK_TOLERANCE_S),
            )
    except IntegrityError:
        return False
    return True
