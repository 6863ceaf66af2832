"""When the client sends a call again, and after how long.

Retried: a connection that failed, 429 (after its Retry-After), 502, 503 and a 409 for an
Idempotency-Key still in flight, with jittered exponential backoff, up to `max_retries`.
A call that may have reached a provider is sent again only when that is safe: the method is
idempotent, or the call carries an Idempotency-Key (the gateway then answers the first
call's stored outcome instead of running it twice).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

from gateway_client.errors import retry_after_seconds

# Sent with nothing reaching the gateway: always safe to send again.
NOTHING_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Refused before anything ran (admission) or nothing could run: safe for any method.
NOTHING_RAN = frozenset(
    {"/problems/rate-limited", "/problems/no-provider-available", "/problems/database-unavailable"}
)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    # A Retry-After longer than this is not waited for: the error is raised instead.
    max_retry_after_s: float = 60.0

    def backoff(self, retry: int) -> float:
        """The pause before retry number `retry` (0-based): exponential, jittered to 50-100%
        of it, so that clients refused together do not come back together."""
        delay = min(self.backoff_max_s, self.backoff_base_s * 2.0**retry)
        return delay * (0.5 + random.random() / 2)

    def after_exception(self, exc: httpx.TransportError, retry: int, *, safe: bool) -> float | None:
        """The pause before sending again after `exc`, or None to give up."""
        if retry >= self.max_retries:
            return None
        if isinstance(exc, NOTHING_SENT) or safe:
            return self.backoff(retry)
        return None

    def after_response(
        self, response: httpx.Response, problem_type: str, retry: int, *, safe: bool, keyed: bool
    ) -> float | None:
        """The pause before sending again after an error answer, or None to give up."""
        status = response.status_code
        if retry >= self.max_retries or response.headers.get("Idempotent-Replayed") == "true":
            return None  # a stored answer: asking again gets the same one
        if status == 429 or problem_type in NOTHING_RAN:
            retryable = True
        elif problem_type == "/problems/outcome-unknown" or status == 409:
            # Served, or still running: only the same key can learn the outcome.
            retryable = keyed
        else:
            retryable = status in (502, 503) and safe
        if not retryable:
            return None
        retry_after = retry_after_seconds(response.headers)
        if retry_after is None:
            return self.backoff(retry)
        return retry_after if retry_after <= self.max_retry_after_s else None
