"""The short-lived token in a 202's websocket_url: it names one call and its client.

The raw API key never goes into a URL (URLs get logged); this token, signed with the
SECRET_KEY, only lets its holder read one call's result, and only for a few minutes.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_SALT = "gateway.realtime.ws"


def websocket_token(*, call_id: int, client_id: int) -> str:
    return signing.dumps({"call": call_id, "client": client_id}, salt=_SALT, compress=True)


def websocket_token_claims(token: str) -> tuple[int, int] | None:
    """(call id, client id) of a valid token; None if forged, malformed or expired."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=settings.GATEWAY_WS_TOKEN_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict):
        return None
    call, client = value.get("call"), value.get("client")
    if not isinstance(call, int) or not isinstance(client, int):
        return None
    return call, client
