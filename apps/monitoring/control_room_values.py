"""What the control room reads (apps.monitoring.control_room): one frozen value per reading,
each a value or the reason it is unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

FAILING_RATE = 0.10  # a provider faulting on this share of its window's calls is failing...
FAILING_MIN_CALLS = 5  # ...once the window holds this many
SLOW_SHARE = 0.5  # a latency average above this share of the provider's timeout is slow

T = TypeVar("T")


@dataclass(frozen=True)
class Reading(Generic[T]):
    """A value, or None and why not (in our words: library text may hold a URL's password)."""

    value: T | None = None
    why_unknown: str = ""


@dataclass(frozen=True)
class OfferingHealth:
    offering_id: int
    provider_id: int
    provider: str
    method: str  # service.method
    state: str
    open_since: datetime | None
    open_until: datetime | None
    consecutive_faults: int
    calls: int
    faults: int
    ewma_ms: float | None
    timeout_ms: int

    @property
    def fault_rate(self) -> float | None:
        return self.faults / self.calls if self.calls else None

    @property
    def failing(self) -> bool:
        rate = self.fault_rate
        return rate is not None and self.calls >= FAILING_MIN_CALLS and rate >= FAILING_RATE

    @property
    def slow(self) -> bool:
        return self.ewma_ms is not None and self.ewma_ms >= SLOW_SHARE * self.timeout_ms


@dataclass(frozen=True)
class DanglingHolds:
    count: int  # at most control_room.CAP_ROWS
    oldest: datetime | None
    age_s: int


@dataclass(frozen=True)
class DeadLetters:
    queue: str
    messages: int


@dataclass(frozen=True)
class ErrorRate:
    calls: int
    errors: int  # answered 5xx
    since: datetime
    capped: bool  # the window held more than CAP_ROWS calls (control_room): the newest

    @property
    def rate(self) -> float | None:
        return self.errors / self.calls if self.calls else None


@dataclass(frozen=True)
class Readings:
    at: datetime
    offerings: Reading[list[OfferingHealth]] = field(default_factory=Reading)
    holds: Reading[DanglingHolds] = field(default_factory=Reading)
    # None: this deployment has no broker with a dead-letter queue to read.
    dead_letters: Reading[list[DeadLetters]] | None = None
    errors: Reading[ErrorRate] = field(default_factory=Reading)
