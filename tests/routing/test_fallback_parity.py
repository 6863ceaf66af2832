"""The per-process fallback follows the same rules as the Redis scripts.

When Redis is unreachable, breakers and the weighted rotation run in each process's memory
(apps.routing.breaker_memory.BreakerMemory), a Python copy of the two Lua scripts. Long
random sequences of calls (faults, successes, 429s, probes, releases, deadlines, ops forcing
breakers and setting them back) on a moving clock are fed to both; every call must see the
same statuses, retry times, latencies and rotation, and every breaker must read the same
afterwards.
"""

import dataclasses
import math
import random
from unittest import mock

import pytest

from apps.catalog.providers import OUTCOME_HTTP_ERROR, OUTCOME_OK, OUTCOME_QUOTA
from apps.core import state
from apps.routing import breaker_scripts as scripts
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord, RouteState
from apps.routing.routes import BreakerPolicy
from tests.support.routing import route_of

METHOD = "currency.latest_rates"
OFFERINGS = [
    route_of(
        "alpha",
        offering_id=31,
        weight=5,
        breaker=BreakerPolicy(failures=3, fault_rate=50, window_s=60, min_calls=6, cooldown_s=20),
    ),
    route_of(
        "beta",
        offering_id=32,
        weight=3,
        breaker=BreakerPolicy(failures=2, fault_rate=40, window_s=30, min_calls=4, cooldown_s=10),
    ),
    route_of("gamma", offering_id=33, weight=0, breaker=BreakerPolicy(failures=4, cooldown_s=45)),
]


async def begin_both(candidates, rotate: bool, now: float) -> tuple[RouteState, RouteState]:
    keys, args = scripts.begin_args(candidates, METHOD, rotate, now)
    shared = await scripts.run(scripts.BEGIN, scripts.BEGIN_SHA, keys, args)
    local = breakers.memory.begin(keys, args)
    return (
        breakers._route_state(shared, candidates),
        breakers._route_state(local, candidates),
    )


async def end_both(records, now: float) -> None:
    keys, args = scripts.end_args(records, now)
    await scripts.run(scripts.END, scripts.END_SHA, keys, args)
    breakers.memory.end(keys, args)


def assert_same_route_state(shared: RouteState, local: RouteState, step: int) -> None:
    assert shared.rotation == local.rotation, step
    for offering_id, mine in local.candidates.items():
        theirs = shared.candidates[offering_id]
        assert theirs.status == mine.status, (step, offering_id)
        for a, b in ((theirs.retry_at, mine.retry_at), (theirs.ewma_ms, mine.ewma_ms)):
            assert (a is None) == (b is None), (step, offering_id)
            if a is not None:
                assert math.isclose(a, b, abs_tol=1e-3), (step, offering_id, a, b)


def assert_same_view(shared, local, step: int) -> None:
    """Field by field; times and averages may differ in the last digits Lua writes."""
    for field in dataclasses.fields(shared):
        a, b = getattr(shared, field.name), getattr(local, field.name)
        if isinstance(a, float) and isinstance(b, float):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-3), (step, field.name, a, b)
        else:
            assert a == b, (step, field.name, a, b)


def breaker_readings(offerings, now: float) -> list[tuple]:
    """Every breaker as ops see it, read from Redis and from this process's memory."""
    readings = []
    for offering in offerings:
        key = breakers.breaker_key(offering.offering_id)
        raw = state.sync_client().hgetall(key)
        shared = {k.decode(): v.decode() for k, v in raw.items()}
        local = dict(breakers.memory.hashes.get(key, {}))
        readings.append(
            tuple(
                breakers.breaker_view(fields, offering.breaker, now) for fields in (shared, local)
            )
        )
    return readings


def forced(offering, mode: str):
    """The offering as the catalog gives it once ops forced its breaker (or not)."""
    return dataclasses.replace(offering, breaker=dataclasses.replace(offering.breaker, forced=mode))


def reset_both(offering_ids: list[int]) -> None:
    """Back to automatic: a clean slate in Redis, and in memory as if Redis were down."""
    breakers.breaker_reset(offering_ids)
    with mock.patch.object(state, "redis_usable", lambda: False):
        breakers.breaker_reset(offering_ids)


def record_for(rng: random.Random, offering, status: str) -> AttemptRecord:
    probe = status == breakers.PROBE
    kind = rng.choice(
        [breakers.SUCCESS] * 3
        + [breakers.FAULT] * 4
        + [breakers.COOLDOWN, breakers.NEUTRAL, breakers.RELEASE]
    )
    if kind == breakers.RELEASE:
        return AttemptRecord(offering, kind, probe=probe)
    outcome = {breakers.SUCCESS: OUTCOME_OK, breakers.COOLDOWN: OUTCOME_QUOTA}.get(
        kind, OUTCOME_HTTP_ERROR
    )
    return AttemptRecord(
        offering,
        kind,
        outcome,
        latency_ms=rng.choice([None, rng.randint(5, 3000)]),
        error="HTTP 500" if kind == breakers.FAULT else "",
        retry_after_s=float(rng.randint(1, 90)) if kind == breakers.COOLDOWN else None,
        probe=probe,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_memory_fallback_and_redis_scripts_agree_call_for_call(seed):
    rng = random.Random(seed)
    now = 1_800_000_000.0
    seen: set[str] = set()
    catalog = {o.offering_id: o for o in OFFERINGS}
    for step in range(800):
        now += rng.choice([0.0, 0.5, 1.0, 2.0, 5.0, 11.0, 31.0])
        if rng.random() < 0.03:  # ops force one breaker, or set it back to automatic
            offering = rng.choice(OFFERINGS)
            mode = rng.choice([breakers.FORCE_OPEN, breakers.FORCE_CLOSED, breakers.AUTOMATIC])
            catalog[offering.offering_id] = forced(offering, mode)
            if mode == breakers.AUTOMATIC:
                reset_both([offering.offering_id])
        candidates = rng.sample(list(catalog.values()), rng.randint(1, len(catalog)))
        rotate = rng.random() < 0.5

        shared, local = await begin_both(candidates, rotate, now)
        assert_same_route_state(shared, local, step)
        seen |= {s.status for s in local.candidates.values()}

        # the call tries some of the candidates it may try; the rest of its leases go back,
        # unless its process died with them
        records = []
        for offering in candidates:
            status = local.of(offering).status
            if status in breakers.AVAILABLE and rng.random() < 0.8:
                records.append(record_for(rng, offering, status))
            elif status == breakers.PROBE and rng.random() < 0.3:
                records.append(AttemptRecord(offering, breakers.RELEASE, probe=True))
        if rng.random() < 0.1:  # an active health check of one provider
            checked = rng.choice(list(catalog.values()))
            kind = rng.choice([breakers.SUCCESS, breakers.FAULT])
            records.append(AttemptRecord(checked, kind, OUTCOME_OK, probe=True))
        await end_both(records, now)

        for shared_view, local_view in breaker_readings(catalog.values(), now):
            assert_same_view(shared_view, local_view, step)

    # the walk went through every state a candidate can be in
    assert seen == {
        breakers.OK,
        breakers.PROBE,
        breakers.CIRCUIT_OPEN,
        breakers.FORCED_OPEN,
        breakers.COOLING_DOWN,
        breakers.PROBE_IN_FLIGHT,
    }
