"""Per-offering health shared by every gateway process: circuit breaker, latency, rotation.

One Redis hash per offering (provider x method) holds its breaker (consecutive faults, when it
opened, the probe lease of a half-open breaker, a 429 cooldown), the EWMA of its latency, its
last error and fault counters per window bucket. One hash per method holds the counters of
smooth weighted round robin. Ops' forcing of a breaker is not here but on the offering row
(it reaches the scripts with the catalog), so that it outlives Redis.

A call's breakers are read with the versions admission reads anyway (apps.routing.breaker_peek).
`route_begin`, before the first attempt, answers from that read when it only has to read;
otherwise (a half-open breaker's probe lease to take, the weighted rotation to step) it runs a
Lua script: one round trip. After the last attempt `route_end_soon` records every attempt:
plain successes are queued to share one round trip with other calls'
(apps.routing.breaker_batch), anything else is written at once by a Lua script. When Redis is
unreachable the scripts run against this process's memory with the same rules: the gateway
keeps serving, each process with its own breakers and rotation, and a warning is logged.

This module is the API everything else imports. The vocabulary (statuses, kinds, force modes,
key layout; exported here) is apps.routing.breaker_rules; the scripts are
apps.routing.breaker_scripts; the same rules in this process's memory are
apps.routing.breaker_memory; what ops see of one breaker is apps.routing.breaker_views.

Time comes from `clock` (seconds since the epoch, shared by every host); tests replace it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core import state
from apps.routing import breaker_scripts as scripts
from apps.routing.breaker_batch import SuccessBatch
from apps.routing.breaker_memory import BreakerMemory
from apps.routing.breaker_peek import peeked_begin, versions_and_breakers
from apps.routing.breaker_rules import (
    AUTOMATIC,
    AVAILABLE,
    CIRCUIT_OPEN,
    COOLDOWN,
    COOLING_DOWN,
    EWMA_ALPHA,
    FAULT,
    FORCE_CLOSED,
    FORCE_OPEN,
    FORCED_OPEN,
    NEUTRAL,
    OK,
    PROBE,
    PROBE_IN_FLIGHT,
    PROBE_LEASE_MIN_S,
    RELEASE,
    SUCCESS,
    WINDOW_BUCKETS,
    AttemptRecord,
    breaker_key,
    rotation_key,
)
from apps.routing.breaker_views import BreakerView, breaker_view
from apps.routing.routes import BreakerPolicy, OfferingRoute

__all__ = [
    "AUTOMATIC",
    "AVAILABLE",
    "CIRCUIT_OPEN",
    "COOLDOWN",
    "COOLING_DOWN",
    "EWMA_ALPHA",
    "FAULT",
    "FORCED_OPEN",
    "FORCE_CLOSED",
    "FORCE_OPEN",
    "NEUTRAL",
    "OK",
    "PROBE",
    "PROBE_IN_FLIGHT",
    "PROBE_LEASE_MIN_S",
    "RELEASE",
    "SUCCESS",
    "WINDOW_BUCKETS",
    "AttemptRecord",
    "BreakerView",
    "CandidateState",
    "RouteState",
    "breaker_key",
    "breaker_reset",
    "breaker_view",
    "breaker_views",
    "clock",
    "forget_process_state",
    "record_health_check",
    "rotation_key",
    "route_begin",
    "route_end",
    "route_end_soon",
    "versions_and_breakers",
]

logger = logging.getLogger(__name__)

clock: Callable[[], float] = time.time

# --- what a call reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateState:
    status: str = OK
    ewma_ms: float | None = None
    retry_at: float | None = None  # when a skipped candidate may be tried again

    @property
    def available(self) -> bool:
        return self.status in AVAILABLE


@dataclass(frozen=True)
class RouteState:
    """Every candidate's state for one call, read in one round trip before it starts."""

    candidates: dict[int, CandidateState] = field(default_factory=dict)
    # Weighted strategies only: available offering ids, the rotation's pick first.
    rotation: tuple[int, ...] = ()

    def of(self, offering: OfferingRoute) -> CandidateState:
        return self.candidates.get(offering.offering_id, CandidateState())


def _route_state(raw: Any, candidates: Sequence[OfferingRoute]) -> RouteState:
    """The begin script's answer (from Redis or from this process's memory), read."""
    statuses, order = raw
    result: dict[int, CandidateState] = {}
    for offering, (status, retry_at, ewma) in zip(candidates, statuses, strict=True):
        result[offering.offering_id] = CandidateState(
            status=_text(status),
            ewma_ms=float(ewma) if _text(ewma) else None,
            retry_at=float(retry_at) if _text(retry_at) else None,
        )
    return RouteState(candidates=result, rotation=tuple(int(i) for i in order))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# this process's breakers and rotation, when Redis is not configured or unreachable
memory = BreakerMemory()


# --- the hot path ---------------------------------------------------------------------------


async def route_begin(
    candidates: Sequence[OfferingRoute], *, method: str, rotate: bool = False
) -> RouteState:
    """Every candidate's state, probe leases taken, the rotation stepped: one round trip, or
    none when admission's read of the breakers (apps.routing.breaker_peek) is enough."""
    if not candidates:
        return RouteState()
    keys, args = scripts.begin_args(candidates, method, rotate, clock())
    peeked = peeked_begin(method, keys, args)  # read with admission's versions, when enough
    if peeked is not None:
        return _route_state(peeked, candidates)
    if state.redis_usable():
        try:
            raw = await scripts.run(scripts.BEGIN, scripts.BEGIN_SHA, keys, args)
            return _route_state(raw, candidates)
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    return _route_state(memory.begin(keys, args), candidates)


async def route_end(records: Sequence[AttemptRecord]) -> None:
    """Record what the call's attempts said about each provider: one round trip."""
    if not records:
        return
    keys, args = scripts.end_args(records, clock())
    if state.redis_usable():
        try:
            await scripts.run(scripts.END, scripts.END_SHA, keys, args)
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    memory.end(keys, args)


# Plain successes, queued to share one round trip (apps.routing.breaker_batch); an event loop
# that closes its Redis client writes them first.
successes = SuccessBatch(route_end)
state.before_client_close(successes.flush)


async def route_end_soon(records: Sequence[AttemptRecord]) -> None:
    """route_end, except that plain successes wait a few milliseconds to be recorded in one
    round trip with other calls' (a fault or a probe's outcome is written at once)."""
    if records:
        await successes.record(records)


async def record_health_check(
    offerings: Sequence[OfferingRoute], *, outcome: str, latency_ms: int, error: str = ""
) -> None:
    """Feed an active health check of a provider to the breakers of its offerings.

    A passing check closes an open breaker (it is the probe), a failing one counts as a
    fault. Its latency is kept apart: a status endpoint says little about a method's speed.
    """
    if not offerings:
        return
    kind = SUCCESS if outcome == "ok" else FAULT
    await route_end([AttemptRecord(o, kind, outcome, error=error, probe=True) for o in offerings])
    fields: dict[Any, Any] = {
        "probe_at": repr(clock()),
        "probe_outcome": outcome,
        "probe_latency_ms": str(latency_ms),
        "probe_error": error[:500],
    }
    keys = [breaker_key(o.offering_id) for o in offerings]
    if state.redis_usable():
        try:
            pipe = state.async_client().pipeline(transaction=False)
            for key in keys:
                pipe.hset(key, mapping=fields)
            await pipe.execute()
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    memory.update(keys, fields)


# --- what ops see and do (admin, health checks) ---------------------------------------------


def _read_hashes(keys: list[str]) -> list[dict[str, str]]:
    if state.redis_usable():
        try:
            pipe = state.sync_client().pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(key)
            return [{_text(k): _text(v) for k, v in raw.items()} for raw in pipe.execute()]
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    return memory.read(keys)


def breaker_views(offerings: Iterable[tuple[int, BreakerPolicy]]) -> dict[int, BreakerView]:
    """The breakers of (offering id, its provider's thresholds), in one round trip."""
    pairs = list(offerings)
    now = clock()
    hashes = _read_hashes([breaker_key(offering_id) for offering_id, _ in pairs])
    return {
        offering_id: breaker_view(fields, policy, now)
        for (offering_id, policy), fields in zip(pairs, hashes, strict=True)
    }


def breaker_reset(offering_ids: Iterable[int]) -> None:
    """Close these breakers and forget their faults, 429 cooldowns and probe leases.

    Whether ops force a breaker is kept on the offering row (apps.routing.services), not here.
    """
    keys = [breaker_key(i) for i in offering_ids]
    if not keys:
        return
    if state.redis_usable():
        try:
            state.sync_client().eval(scripts.RESET_SCRIPT, len(keys), *keys)
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    memory.reset(keys)


def forget_process_state() -> None:
    """Drop this process's fallback breakers and rotation, and successes queued (tests)."""
    memory.clear()
    successes.clear()
