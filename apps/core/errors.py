"""One error hierarchy for the whole gateway.

Each error knows its HTTP status and problem type; the API layer renders any of them as
`application/problem+json` (RFC 9457). Code raises the most specific class and never builds
HTTP responses for errors itself.
"""

from typing import Any

import psycopg


class GatewayError(Exception):
    status: int = 500
    code: str = "internal-error"
    title: str = "Internal error"
    ledger_status: str = "failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        attempts: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.errors = errors
        self.attempts = attempts
        self.headers = headers or {}
        super().__init__(self.detail)


class InvalidRequest(GatewayError):
    status, code, title = 400, "invalid-request", "The request is not valid"
    ledger_status = "rejected"


class ValidationFailed(InvalidRequest):
    code, title = "validation-error", "The payload does not match the method's schema"


class NotAuthenticated(GatewayError):
    status, code, title = 401, "not-authenticated", "Missing or invalid credentials"
    ledger_status = "rejected"


class CreditLimitExceeded(GatewayError):
    status, code, title = 402, "credit-limit-exceeded", "The client's credit limit is reached"
    ledger_status = "rejected"


class PermissionDenied(GatewayError):
    status, code, title = 403, "forbidden", "Not allowed to call this method"
    ledger_status = "rejected"


class NotFound(GatewayError):
    status, code, title = 404, "not-found", "Not found"
    ledger_status = "rejected"


class MethodNotAllowed(GatewayError):
    status, code, title = 405, "method-not-allowed", "HTTP method not allowed"
    ledger_status = "rejected"


class Conflict(GatewayError):
    status, code, title = 409, "conflict", "Conflict"
    ledger_status = "rejected"


class IdempotencyKeyInFlight(Conflict):
    code, title = "idempotency-key-in-flight", "A call with this Idempotency-Key is still running"


class IdempotencyKeyReused(GatewayError):
    status, code = 422, "idempotency-key-reused"
    title = "The Idempotency-Key was already used with another payload"
    ledger_status = "rejected"


class PayloadTooLarge(GatewayError):
    status, code, title = 413, "payload-too-large", "The request body is too large"
    ledger_status = "rejected"


class ProviderRejectedInput(GatewayError):
    """The provider says the input is invalid: the client's fault, so no failover."""

    status, code, title = 422, "invalid-input", "The provider rejected the input"


class RateLimited(GatewayError):
    status, code, title = 429, "rate-limited", "Rate limit or quota exceeded"
    ledger_status = "rejected"


class AllProvidersFailed(GatewayError):
    status, code, title = 502, "providers-failed", "Every candidate provider failed"


class NoProviderAvailable(GatewayError):
    status, code, title = 503, "no-provider-available", "No provider is available"


class DeadlineExceeded(GatewayError):
    status, code, title = 504, "deadline-exceeded", "The call's deadline passed"


class OutcomeUnknown(GatewayError):
    """A provider served the call but its ledger row could not be written yet (the database
    went away). The outcome is kept and written once the database is back; until then the
    call's Idempotency-Key stays taken, so a retry can never reach the provider again."""

    status, code = 503, "outcome-unknown"
    title = "The call was served; its record will be written shortly"
    ledger_status = "unknown"


class DatabaseUnavailable(GatewayError, psycopg.OperationalError):
    """The gateway's own database cannot be reached (down, restarting, out of connections).

    Nothing was served and nothing charged: the client may retry after Retry-After. It is
    a psycopg.OperationalError too, so that code retrying a statement while the database is
    gone (apps.gateway.settle) retries on it as on the error it replaces."""

    status, code, title = 503, "database-unavailable", "The gateway's database is unavailable"
    retry_after_s = 5

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail or "The gateway cannot reach its database; retry shortly.",
            headers={"Retry-After": str(self.retry_after_s)},
        )


def database_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 to answer when `exc` says the database cannot be reached, else None.

    The one place that decides it, for the ASGI call endpoint and for Django's views alike:
    a connection refused or cut, or no pooled connection within the pool's timeout, is the
    database being away, not a bug of the gateway (a bare 500).
    """
    if isinstance(exc, DatabaseUnavailable):
        return exc
    # Django wraps the driver's error; the driver's says what happened.
    cause = exc if isinstance(exc, psycopg.Error) else exc.__cause__
    if not isinstance(cause, psycopg.OperationalError | psycopg.InterfaceError):
        return None
    # A deadlock, a statement or lock timeout is an OperationalError too, with the server
    # answering: not the database away. Away is a connection that could not be made or was
    # lost (no SQLSTATE: the client's own error; class 08), the server shutting down
    # (57P01-57P03), or no pooled connection in time (psycopg_pool's PoolTimeout).
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_GOING_AWAY:
        return DatabaseUnavailable()
    return None


_SERVER_GOING_AWAY = frozenset({"57P01", "57P02", "57P03"})
