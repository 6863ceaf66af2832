"""Writes to clients that are not money (money moves through apps.billing and apps.ledger)."""

import secrets

from apps.accounts.models import Client


def client_webhook_secret_rotate(*, client: Client) -> str:
    """Give the client a new webhook secret and return it: the one time it is seen in clear.

    Callbacks are signed with it from the next delivery on (X-Signature, HMAC-SHA256), so the
    client must be handed the new value before or as it is rotated.
    """
    secret = "whsec_" + secrets.token_urlsafe(32)
    client.webhook_secret = secret  # type: ignore[assignment]
    client.save(update_fields=["webhook_secret", "updated_at"])
    return secret
