"""The breakers' vocabulary, in one place: statuses, kinds, force modes, tunables, key layout,
and the record an attempt leaves for its offering's breaker.

Everything else about the breakers builds on this module and nothing here imports them back:
apps.routing.breaker_scripts (the rules in Lua, for Redis), apps.routing.breaker_memory (the
same rules in this process's memory), apps.routing.breaker_views (what ops see) and
apps.routing.breakers (the API every caller uses, which re-exports these names). The Lua
scripts spell the statuses, kinds and force modes literally: a change here is a change there.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.catalog.providers import (
    OUTCOME_ADAPTER_ERROR,
    OUTCOME_CONNECTION,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OK,
    OUTCOME_QUOTA,
    OUTCOME_REJECTED,
    ProviderFault,
)
from apps.core import state
from apps.routing.attempts import Attempt
from apps.routing.routes import OfferingRoute

EWMA_ALPHA = 0.3  # weight of the newest latency in the moving average
WINDOW_BUCKETS = 6  # the fault-rate window is counted in this many buckets
PROBE_LEASE_MIN_S = 5  # a probe lease outlives the probe call, however short its timeout

# Candidate statuses; only the first two may be tried.
OK = "ok"
PROBE = "probe"  # half-open: this call holds the one probe
CIRCUIT_OPEN = "circuit_open"
FORCED_OPEN = "forced_open"
COOLING_DOWN = "cooling_down"  # the provider answered 429 with Retry-After
PROBE_IN_FLIGHT = "probe_in_flight"  # half-open, another call is probing
AVAILABLE = frozenset({OK, PROBE})

# What an attempt tells the breaker.
SUCCESS = "success"  # the provider answered (even "your input is invalid")
FAULT = "fault"
COOLDOWN = "cooldown"  # 429 with Retry-After: skip it that long, no breaker count
NEUTRAL = "neutral"  # cut short by our own deadline: says nothing about the provider
RELEASE = "release"  # a probe lease taken but not used

# Ops' override of a breaker (Offering.breaker_forced).
FORCE_OPEN = "open"
FORCE_CLOSED = "closed"
AUTOMATIC = ""

# The longest a provider's Retry-After may keep it out of rotation: a vendor asking for a day
# is tried once an hour (and cools down again), and a mistaken header costs an hour at most.
MAX_COOLDOWN_S = 3600

# Outcomes whose latency is no measure of the provider's speed: nothing was answered.
_NO_LATENCY = {OUTCOME_CONNECTION, OUTCOME_MISCONFIGURED, OUTCOME_ADAPTER_ERROR}

# A clean slate: what the breaker counted and decided, not what it measured (latency, the
# last error and the last health check stay for ops to read).
RESET_FIELDS = ("opened_at", "fails", "probe_until", "cool_until")


def candidate_status(
    fields: dict[str, str], now: float, cooldown_s: float, forced: str
) -> tuple[str, str]:
    """A candidate's status and when it may be tried again ('' for now), from its breaker's
    fields: BEGIN's rule (apps.routing.breaker_scripts) without its write. PROBE means a probe
    is due: whoever answers it must take the lease (probe_until) in the same step."""
    opened = float(fields.get("opened_at") or 0)
    cool = float(fields.get("cool_until") or 0)
    probe_until = float(fields.get("probe_until") or 0)
    if forced == FORCE_OPEN:
        return FORCED_OPEN, ""
    if forced == FORCE_CLOSED:
        return OK, ""
    if cool > now:
        return COOLING_DOWN, repr(cool)
    if opened > 0:
        if now < opened + cooldown_s:
            return CIRCUIT_OPEN, repr(opened + cooldown_s)
        if probe_until > now:
            return PROBE_IN_FLIGHT, repr(probe_until)
        return PROBE, ""
    return OK, ""


def breaker_key(offering_id: int) -> str:
    return f"{state.KEY_PREFIX}br:{offering_id}"


def rotation_key(method: str) -> str:
    return f"{state.KEY_PREFIX}rr:{method}"


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt (or an unused probe lease) tells its offering's breaker."""

    offering: OfferingRoute
    kind: str
    outcome: str = ""
    latency_ms: int | None = None  # None: not a latency of the provider (refused, ...)
    error: str = ""
    retry_after_s: float | None = None
    probe: bool = False  # held the probe lease (or is an active health check)


def attempt_record(
    offering: OfferingRoute, attempt: Attempt, *, probe: bool, fault: ProviderFault | None = None
) -> AttemptRecord:
    """What an attempt tells the offering's breaker and latency average."""
    retry_after = fault.retry_after_s if fault is not None else None
    if attempt.outcome in (OUTCOME_OK, OUTCOME_REJECTED):
        kind = SUCCESS  # it answered; a rejected input is the client's fault
    elif fault is not None and fault.outcome == OUTCOME_QUOTA and retry_after:
        kind = COOLDOWN
    else:
        kind = FAULT
    return AttemptRecord(
        offering=offering,
        kind=kind,
        outcome=attempt.outcome,
        latency_ms=None if attempt.outcome in _NO_LATENCY else attempt.latency_ms,
        error=attempt.error,
        retry_after_s=min(retry_after, MAX_COOLDOWN_S) if retry_after else None,
        probe=probe,
    )
