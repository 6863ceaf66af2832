"""The one place where a provider's answer or failure becomes an attempt record.

An attempt keeps a classified outcome and a short reason written by us (or by an adapter,
scrubbed): never a library's exception text, which holds the request URL with its query
string (a credential, for fixer and currencylayer), headers or a piece of the body. The
reason goes on the ledger row, the breaker's last error and the log; a client sees only
`public()`: provider, outcome and latency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from apps.catalog.failures import bug_reason, scrub
from apps.catalog.providers import (
    OUTCOME_ADAPTER_ERROR,
    OUTCOME_OK,
    OUTCOME_REJECTED,
    OUTCOME_TIMEOUT,
    InvalidInput,
    ProviderFault,
)
from apps.core.errors import ProviderRejectedInput

# Our deadline cut the attempt short (not the provider's own timeout).
DEADLINE = "deadline"


@dataclass(frozen=True)
class Attempt:
    provider: str
    outcome: str
    latency_ms: int
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """As stored (ledger row, background call): with the reason, for ops."""
        data = self.public()
        if self.error:
            data["error"] = self.error
        return data

    def public(self) -> dict[str, Any]:
        """As a client sees it (docs/api.md): no reason, no vendor text."""
        return {"provider": self.provider, "outcome": self.outcome, "latency_ms": self.latency_ms}


def attempt_ok(provider: str, latency_ms: int) -> Attempt:
    return Attempt(provider, OUTCOME_OK, latency_ms)


def attempt_failed(
    provider: str, exc: BaseException, latency_ms: int, credentials: Mapping[str, str]
) -> Attempt:
    """The record of an attempt that raised `exc`; `credentials` are the provider's own,
    masked wherever an adapter's text might carry them."""
    outcome, reason = failure_of(exc, credentials)
    return Attempt(provider, outcome, latency_ms, reason)


def failure_of(exc: BaseException, credentials: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(outcome, reason) for any exception an attempt or a health probe can end with."""
    secrets = [v for v in (credentials or {}).values() if isinstance(v, str)]
    if isinstance(exc, ProviderFault):
        return exc.outcome, scrub(exc.detail, secrets)
    if isinstance(exc, InvalidInput):
        return OUTCOME_REJECTED, scrub(exc.detail, secrets)
    if isinstance(exc, TimeoutError):
        return OUTCOME_TIMEOUT, DEADLINE
    return OUTCOME_ADAPTER_ERROR, bug_reason(exc)


def public_attempts(attempts: list[Attempt]) -> list[dict[str, Any]]:
    return [a.public() for a in attempts]


def rejected_input(
    exc: InvalidInput, attempts: list[Attempt], credentials: Iterable[Mapping[str, str]]
) -> ProviderRejectedInput:
    """The 422 a client gets when a provider refused its input.

    The adapter's detail and per-field messages often quote the vendor, whose message can
    echo what we sent it (a credential, a URL with its query): they are scrubbed as a stored
    reason is, but kept whole and under the same field names, so the client still learns
    what to fix. `credentials` are those of every provider whose answer is quoted.
    """
    secrets = [v for c in credentials for v in c.values() if isinstance(v, str)]
    errors = (
        None
        if exc.errors is None
        else {
            field: [scrub(str(m), secrets, limit=None) for m in messages]
            for field, messages in exc.errors.items()
        }
    )
    return ProviderRejectedInput(
        scrub(exc.detail, secrets, limit=None), errors=errors, attempts=public_attempts(attempts)
    )
