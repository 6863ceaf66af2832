"""The gateway's problems (RFC 9457 application/problem+json) as exceptions.

One class per problem type the gateway answers (docs/errors.md); a problem whose type this
version does not know is mapped by its HTTP status, and failing that is a plain GatewayError.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class GatewayError(Exception):
    """A call the gateway refused or could not serve.

    `status` is the HTTP status (0 when no answer arrived), `type` the problem type URI
    (e.g. "/problems/rate-limited"), `errors` the per-field messages of a validation failure
    and `attempts` the providers tried ({"provider", "outcome", "latency_ms"}).
    """

    default_status = 500

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        type: str = "about:blank",  # the problem's own field name
        title: str = "",
        request_id: str | None = None,
        errors: dict[str, list[str]] | None = None,
        attempts: list[dict[str, Any]] | None = None,
        headers: httpx.Headers | None = None,
        replayed: bool = False,
    ) -> None:
        super().__init__(detail)
        self.status = self.default_status if status is None else status
        self.type = type
        self.title = title
        self.detail = detail
        self.request_id = request_id
        self.errors = errors or {}
        self.attempts = attempts or []
        self.headers = headers if headers is not None else httpx.Headers()
        self.replayed = replayed

    def __str__(self) -> str:
        text = f"{self.status} {self.title or self.type}: {self.detail}"
        if self.errors:
            fields = "; ".join(f"{k}: {' '.join(v)}" for k, v in self.errors.items())
            text = f"{text} ({fields})"
        return f"{text} [request_id={self.request_id}]" if self.request_id else text


class ConnectionFailed(GatewayError):
    """No answer from the gateway (refused, reset, timed out) after the client's retries."""

    default_status = 0


class ValidationFailed(GatewayError):
    """400: the payload fails the method's schema (`errors` says where), or the request is
    malformed (a body that is not JSON, a bad header)."""

    default_status = 400


class InvalidInput(ValidationFailed):
    """422 /problems/invalid-input: a provider rejected the input (an unknown currency...)."""

    default_status = 422


class PayloadTooLarge(ValidationFailed):
    default_status = 413


class Unauthorized(GatewayError):
    """401: missing, unknown, revoked or expired API key."""

    default_status = 401


class PaymentRequired(GatewayError):
    """402: the call would take the client past its credit limit."""

    default_status = 402


class Forbidden(GatewayError):
    """403: the plan has no price for the method, or the client is suspended."""

    default_status = 403


class NotFound(GatewayError):
    """404: unknown or disabled service or method, or not one of your calls."""

    default_status = 404


class Conflict(GatewayError):
    default_status = 409


class IdempotencyKeyInFlight(Conflict):
    """409: the first call with this Idempotency-Key is still running; retry later."""


class IdempotencyKeyReused(Conflict):
    """422: the Idempotency-Key was used for this method with another payload."""

    default_status = 422


class RateLimited(GatewayError):
    """429: a rate limit of the plan is reached; `retry_after` says when to try (seconds)."""

    default_status = 429

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class ProvidersFailed(GatewayError):
    """502: every candidate provider failed; `attempts` lists them."""

    default_status = 502


class Unavailable(GatewayError):
    """503: no provider is available (or the gateway's database is away); retry later."""

    default_status = 503

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers)


class OutcomeUnknown(Unavailable):
    """503 /problems/outcome-unknown: the call WAS served, its record is written later.

    Never resend it under a new Idempotency-Key: retry with the same key (409 until it is
    recorded, then the stored answer)."""


class DeadlineExceeded(GatewayError):
    """504: the method's total deadline passed."""

    default_status = 504


PROBLEM_TYPES: dict[str, type[GatewayError]] = {
    "/problems/validation-error": ValidationFailed,
    "/problems/invalid-request": ValidationFailed,
    "/problems/payload-too-large": PayloadTooLarge,
    "/problems/invalid-input": InvalidInput,
    "/problems/not-authenticated": Unauthorized,
    "/problems/credit-limit-exceeded": PaymentRequired,
    "/problems/forbidden": Forbidden,
    "/problems/not-found": NotFound,
    "/problems/idempotency-key-in-flight": IdempotencyKeyInFlight,
    "/problems/idempotency-key-reused": IdempotencyKeyReused,
    "/problems/rate-limited": RateLimited,
    "/problems/providers-failed": ProvidersFailed,
    "/problems/no-provider-available": Unavailable,
    "/problems/database-unavailable": Unavailable,
    "/problems/outcome-unknown": OutcomeUnknown,
    "/problems/deadline-exceeded": DeadlineExceeded,
}

BY_STATUS: dict[int, type[GatewayError]] = {
    400: ValidationFailed,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
    429: RateLimited,
    502: ProvidersFailed,
    503: Unavailable,
    504: DeadlineExceeded,
}


def error_from_problem(
    status: int, problem: dict[str, Any], headers: httpx.Headers | None = None
) -> GatewayError:
    """The exception for a problem body answered with `status`."""
    problem_type = str(problem.get("type") or "about:blank")
    cls = PROBLEM_TYPES.get(problem_type) or BY_STATUS.get(status, GatewayError)
    headers = headers if headers is not None else httpx.Headers()
    errors = problem.get("errors")
    attempts = problem.get("attempts")
    return cls(
        str(problem.get("detail") or problem.get("title") or f"HTTP {status}"),
        status=status,
        type=problem_type,
        title=str(problem.get("title") or ""),
        request_id=problem.get("request_id") or headers.get("X-Request-ID"),
        errors=errors if isinstance(errors, dict) else None,
        attempts=attempts if isinstance(attempts, list) else None,
        headers=headers,
        replayed=headers.get("Idempotent-Replayed") == "true",
    )


def error_from_response(response: httpx.Response) -> GatewayError:
    """The exception for an HTTP error answer, problem+json or not (a proxy's 502 page)."""
    try:
        problem = json.loads(response.content)
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        reason = response.reason_phrase or "error"
        problem = {"title": reason, "detail": f"HTTP {response.status_code} {reason}"}
    return error_from_problem(response.status_code, problem, response.headers)


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds (delta-seconds or an HTTP date), None when absent or bad."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None
