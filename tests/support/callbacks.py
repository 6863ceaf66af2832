"""Callbacks of background calls: a finished call waiting for its callback, the receiver's
signature check, and the spellings of loopback an address check must see through."""

from __future__ import annotations

import hashlib
import hmac
import time

from apps.realtime.models import AsyncCall
from tests.factories.realtime import AsyncCallFactory

# One loopback listener, spelled the ways a URL may hide it ({port} to fill in).
LOOPBACK_SPELLINGS = [
    "http://127.0.0.1:{port}/",
    "http://localhost:{port}/",
    "http://127.1:{port}/",
    "http://2130706433:{port}/",
    "http://0x7f000001:{port}/",
    "http://0x7f.0.0.1:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://127.0.0.1.:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
]


def verify_signature(
    header: str, body: bytes, secret: str, tolerance_s: int = 300, now: float | None = None
) -> bool:
    """The receiver's check, as docs/async.md shows it."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    t, v1 = fields.get("t", ""), fields.get("v1", "")
    now = time.time() if now is None else now
    if not t.isdigit() or abs(now - int(t)) > tolerance_s:
        return False  # too old (or from the future): a replay
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, v1)


def finished_call(callback_url: str) -> AsyncCall:
    """A background call that succeeded, its result waiting for `callback_url`."""
    return AsyncCallFactory.create(
        request_id=f"req-{time.monotonic_ns()}",
        status=AsyncCall.Status.SUCCEEDED,
        result_status=200,
        result={"data": {"base": "EUR"}},
        callback_url=callback_url,
    )
