"""Call a method through its candidate providers, failing over on provider faults.

Only provider faults fail over. A provider saying the input is invalid ends the call with
422. A non-idempotent method (an email) never goes to a second provider after an attempt
whose outcome is unknown (a timeout, or a dropped connection, once the request was sent):
the first may have sent it.

Before the first attempt one round trip to the shared state reads every candidate's breaker
(open, half-open, forced, cooling down after a 429) and latency and steps the weighted
rotation; after the last, one round trip records what every attempt said. Candidates that
may not be tried are skipped and named, with the reason, in the decision on the ledger row.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.catalog.failures import bug_reason
from apps.catalog.providers import (
    OUTCOME_ADAPTER_ERROR,
    OUTCOME_CONNECTION,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OK,
    OUTCOME_QUOTA,
    OUTCOME_REJECTED,
    OUTCOME_TIMEOUT,
    CallContext,
    InvalidInput,
    ProviderFault,
)
from apps.core.errors import (
    AllProvidersFailed,
    DeadlineExceeded,
    NoProviderAvailable,
)
from apps.observability.metrics import attempts_made
from apps.observability.spans import attempt_traced
from apps.routing import breakers
from apps.routing.attempts import (
    Attempt,
    attempt_failed,
    attempt_ok,
    failure_of,
    public_attempts,
    rejected_input,
)
from apps.routing.breakers import AttemptRecord, RouteState
from apps.routing.http import http_client
from apps.routing.routes import MethodRoute, OfferingRoute
from apps.routing.strategies import RoutingContext, Strategy, by_priority, strategies

logger = logging.getLogger(__name__)


@dataclass
class CallOutcome:
    data: dict[str, Any]
    offering: OfferingRoute
    cost: Decimal
    attempts: list[Attempt]
    decision: dict[str, Any] = field(default_factory=dict)


class CallFailed(Exception):
    """Carries the attempts and decision along with the error the client will see."""

    def __init__(self, error: Exception, attempts: list[Attempt], decision: dict[str, Any]) -> None:
        self.error = error
        self.attempts = attempts
        self.decision = decision
        super().__init__(str(error))


def _ms_since(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def _failed(offering: OfferingRoute, exc: BaseException, started: float) -> Attempt:
    return attempt_failed(
        offering.provider.slug, exc, _ms_since(started), offering.provider.credentials
    )


async def execute(
    *, route: MethodRoute, payload: dict[str, Any], context: CallContext
) -> CallOutcome:
    """Route one call. Raises CallFailed wrapping a GatewayError when no provider served."""
    policy = route.policy
    deadline = time.monotonic() + policy.deadline_ms / 1000
    strategy, candidates = _candidates(route, context)
    state = await breakers.route_begin(candidates, method=route.key, rotate=strategy.uses_rotation)
    routing_context = RoutingContext(
        method=route.key,
        client=context.client,
        country=context.country,
        pinned=context.pinned_provider,
        state=state,
    )
    ordered, strategy_error = await _ordered(strategy, candidates, routing_context)
    decision: dict[str, Any] = {
        "strategy": strategy.name,
        "candidates": [o.provider.slug for o in ordered],
        "skipped": [],
    }
    if strategy_error:
        decision["strategy_error"] = strategy_error
    if context.pinned_provider:
        decision["pinned"] = context.pinned_provider
    if context.route_country:
        decision["route_country"] = context.route_country
    records: list[AttemptRecord] = []
    try:
        return await _attempt(route, payload, context, ordered, state, deadline, decision, records)
    finally:
        made = [(r.offering.provider.slug, r.outcome, r.latency_ms) for r in records]
        # Probe leases this call took but did not use go back at once.
        tried = {r.offering.offering_id for r in records}
        records += [
            AttemptRecord(offering=o, kind=breakers.RELEASE, probe=True)
            for o in ordered
            if state.of(o).status == breakers.PROBE and o.offering_id not in tried
        ]
        await breakers.route_end(records)
        attempts_made(route.key, made)


def _candidates(
    route: MethodRoute, context: CallContext
) -> tuple[Strategy, tuple[OfferingRoute, ...]]:
    if context.pinned_provider:
        pinned = tuple(o for o in route.offerings if o.provider.slug == context.pinned_provider)
        return strategies["pinned"], pinned
    offerings = route.offerings
    if context.route_country:
        offerings = tuple(o for o in offerings if o.serves(context.route_country))
    return strategies.get(route.policy.strategy) or strategies["priority"], offerings


async def _ordered(
    strategy: Strategy, candidates: tuple[OfferingRoute, ...], context: RoutingContext
) -> tuple[list[OfferingRoute], str]:
    """Every candidate once, in the strategy's order; and what went wrong with it, if anything.

    A strategy is code written for one method: its bug must not take the method down. One
    that raises is replaced by priority order for this call; candidates it leaves out still
    come, by priority, after the ones it named (failover goes on down the whole list).
    """
    try:
        named = list(await strategy.order(candidates, context))
    except Exception as exc:
        logger.exception("strategy %s failed on %s", strategy.name, context.method)
        return sorted(candidates, key=by_priority), bug_reason(exc)
    known = {o.offering_id: o for o in candidates}
    ordered = [known.pop(o.offering_id) for o in named if o.offering_id in known]
    return ordered + sorted(known.values(), key=by_priority), ""


async def _attempt(
    route: MethodRoute,
    payload: dict[str, Any],
    context: CallContext,
    ordered: list[OfferingRoute],
    state: RouteState,
    deadline: float,
    decision: dict[str, Any],
    records: list[AttemptRecord],
) -> CallOutcome:
    policy = route.policy
    attempts: list[Attempt] = []
    if not ordered:
        if context.pinned_provider:
            detail = f"Provider {context.pinned_provider} is not available for {route.key}."
        elif context.route_country:
            detail = f"No enabled provider of {route.key} serves {context.route_country}."
        else:
            detail = f"No enabled provider serves {route.key}."
        raise CallFailed(NoProviderAvailable(detail), attempts, decision)

    usable = [o for o in ordered if state.of(o).available]
    for offering in ordered:
        if not state.of(offering).available:
            decision["skipped"].append(
                {"provider": offering.provider.slug, "reason": state.of(offering).status}
            )
    if not usable:
        raise CallFailed(_all_unavailable(route, ordered, state), attempts, decision)

    if route.spec.fan_out is not None:
        return await _fan_out(route, payload, context, usable, state, deadline, decision, records)

    budget = policy.max_attempts if policy.failover else 1
    http = http_client()
    for offering in usable:
        if len(attempts) >= budget:
            decision["skipped"].append(
                {"provider": offering.provider.slug, "reason": "max_attempts"}
            )
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise CallFailed(
                DeadlineExceeded(
                    f"{route.key} did not complete within {policy.deadline_ms} ms.",
                    attempts=public_attempts(attempts),
                ),
                attempts,
                decision,
            )
        probe = state.of(offering).status == breakers.PROBE
        adapter = offering.adapter(offering.provider, http)
        started = time.monotonic()
        try:
            with attempt_traced(offering.provider.slug, route.key, failure_of):
                if not offering.credentials_readable:
                    raise ProviderFault(
                        OUTCOME_MISCONFIGURED,
                        "credentials cannot be decrypted with the configured keys",
                        sent=False,
                    )
                # asyncio.timeout, not wait_for: no extra task per attempt on every call's path.
                async with asyncio.timeout(remaining):
                    data = await adapter.call(route.spec.name, payload, context)
        except InvalidInput as exc:
            attempt = _failed(offering, exc, started)
            attempts.append(attempt)
            records.append(_record(offering, attempt, probe=probe))
            raise CallFailed(
                rejected_input(exc, attempts, [offering.provider.credentials]),
                attempts,
                decision,
            ) from exc
        except ProviderFault as fault:
            attempt = _failed(offering, fault, started)
            attempts.append(attempt)
            records.append(_record(offering, attempt, probe=probe, fault=fault))
            logger.warning(
                "provider %s failed %s: %s: %s",
                offering.provider.slug,
                route.key,
                attempt.outcome,
                attempt.error,
            )
            if fault.sent and fault.outcome in _NO_ANSWER and not route.spec.idempotent:
                decision["stopped"] = "outcome unknown on a non-idempotent method"
                decision["outcome"] = "unknown"  # it may have been served: reconcile by hand
                break
            continue
        except TimeoutError as exc:
            attempt = _failed(offering, exc, started)
            attempts.append(attempt)
            # Cut short by our own deadline: that says nothing about the provider.
            records.append(AttemptRecord(offering, breakers.NEUTRAL, OUTCOME_TIMEOUT, probe=probe))
            if not route.spec.idempotent:
                decision["outcome"] = "unknown"  # the request may have gone out
            raise CallFailed(
                DeadlineExceeded(
                    f"{route.key} did not complete within {policy.deadline_ms} ms.",
                    attempts=public_attempts(attempts),
                ),
                attempts,
                decision,
            ) from None
        except Exception as exc:
            # A bug in one adapter must not take the call down: record it, try the next.
            logger.exception("adapter %s raised on %s", offering.adapter.key, route.key)
            attempt = _failed(offering, exc, started)
            attempts.append(attempt)
            records.append(_record(offering, attempt, probe=probe))
            continue
        attempt = attempt_ok(offering.provider.slug, _ms_since(started))
        attempts.append(attempt)
        records.append(_record(offering, attempt, probe=probe))
        return CallOutcome(
            data=data,
            offering=offering,
            cost=offering.cost_for(context.country),
            attempts=attempts,
            decision=decision,
        )

    raise CallFailed(
        AllProvidersFailed(
            f"Every provider tried for {route.key} failed.",
            attempts=public_attempts(attempts),
        ),
        attempts,
        decision,
    )


async def _fan_out(
    route: MethodRoute,
    payload: dict[str, Any],
    context: CallContext,
    usable: list[OfferingRoute],
    state: RouteState,
    deadline: float,
    decision: dict[str, Any],
    records: list[AttemptRecord],
) -> CallOutcome:
    """Ask every usable candidate at once; the method's fan_out hook combines the answers.

    The call is served when at least one provider answered; its cost is what every provider
    that answered charged. All rejecting the input is a 422; all failing, a 502.
    """
    assert route.spec.fan_out is not None
    http = http_client()
    remaining = max(0.0, deadline - time.monotonic())

    async def ask(offering: OfferingRoute) -> tuple[Attempt, dict[str, Any] | None, Exception]:
        probe = state.of(offering).status == breakers.PROBE
        started = time.monotonic()
        slug = offering.provider.slug
        error: Exception = TimeoutError()
        try:
            with attempt_traced(slug, route.key, failure_of):
                if not offering.credentials_readable:
                    raise ProviderFault(OUTCOME_MISCONFIGURED, "credentials cannot be decrypted")
                adapter = offering.adapter(offering.provider, http)
                data = await asyncio.wait_for(
                    adapter.call(route.spec.name, payload, context), timeout=remaining
                )
        except InvalidInput as exc:
            attempt, error = _failed(offering, exc, started), exc
            records.append(_record(offering, attempt, probe=probe))
        except ProviderFault as fault:
            attempt, error = _failed(offering, fault, started), fault
            records.append(_record(offering, attempt, probe=probe, fault=fault))
        except TimeoutError as exc:
            attempt = _failed(offering, exc, started)
            records.append(AttemptRecord(offering, breakers.NEUTRAL, OUTCOME_TIMEOUT, probe=probe))
        except Exception as exc:
            logger.exception("adapter %s raised on %s", offering.adapter.key, route.key)
            attempt, error = _failed(offering, exc, started), exc
            records.append(_record(offering, attempt, probe=probe))
        else:
            attempt = attempt_ok(slug, _ms_since(started))
            records.append(_record(offering, attempt, probe=probe))
            return attempt, data, error
        return attempt, None, error

    results = await asyncio.gather(*(ask(o) for o in usable))
    attempts = [attempt for attempt, _, _ in results]
    answered = [
        (offering, data)
        for offering, (_, data, _) in zip(usable, results, strict=True)
        if data is not None
    ]
    decision["fan_out"] = len(usable)
    if answered:
        try:
            slug, data = route.spec.fan_out([(o.provider.slug, d) for o, d in answered])
        except InvalidInput as exc:  # the answers together refuse it (nowhere available)
            refused = rejected_input(exc, attempts, [o.provider.credentials for o, _ in answered])
            raise CallFailed(refused, attempts, decision) from exc
        serving = next(o for o, _ in answered if o.provider.slug == slug)
        return CallOutcome(
            data=data,
            offering=serving,
            cost=sum((o.cost_for(context.country) for o, _ in answered), Decimal(0)),
            attempts=attempts,
            decision=decision,
        )
    rejected = [e for _, _, e in results if isinstance(e, InvalidInput)]
    as_dicts = public_attempts(attempts)
    if rejected and len(rejected) == len(results):
        error: Exception = rejected_input(
            rejected[0], attempts, [o.provider.credentials for o in usable]
        )
    elif all(isinstance(e, TimeoutError) for _, _, e in results):
        error = DeadlineExceeded(
            f"{route.key} did not complete within {route.policy.deadline_ms} ms.",
            attempts=as_dicts,
        )
    else:
        error = AllProvidersFailed(
            f"Every provider asked for {route.key} failed.", attempts=as_dicts
        )
    raise CallFailed(error, attempts, decision)


# Faults after the request went out with no answer back: the provider may have acted on it,
# so a method that is not idempotent stops there (a reset connection is as unknown as a
# timeout: an email may be queued before the server drops the line).
_NO_ANSWER = {OUTCOME_TIMEOUT, OUTCOME_CONNECTION}

# The longest a provider's Retry-After may keep it out of rotation: a vendor asking for a day
# is tried once an hour (and cools down again), and a mistaken header costs an hour at most.
MAX_COOLDOWN_S = 3600

# Outcomes whose latency is no measure of the provider's speed: nothing was answered.
_NO_LATENCY = {OUTCOME_CONNECTION, OUTCOME_MISCONFIGURED, OUTCOME_ADAPTER_ERROR}


def _record(
    offering: OfferingRoute, attempt: Attempt, *, probe: bool, fault: ProviderFault | None = None
) -> AttemptRecord:
    """What an attempt tells the offering's breaker and latency average."""
    retry_after = fault.retry_after_s if fault is not None else None
    if attempt.outcome in (OUTCOME_OK, OUTCOME_REJECTED):
        kind = breakers.SUCCESS  # it answered; a rejected input is the client's fault
    elif fault is not None and fault.outcome == OUTCOME_QUOTA and retry_after:
        kind = breakers.COOLDOWN
    else:
        kind = breakers.FAULT
    return AttemptRecord(
        offering=offering,
        kind=kind,
        outcome=attempt.outcome,
        latency_ms=None if attempt.outcome in _NO_LATENCY else attempt.latency_ms,
        error=attempt.error,
        retry_after_s=min(retry_after, MAX_COOLDOWN_S) if retry_after else None,
        probe=probe,
    )


def _all_unavailable(
    route: MethodRoute, ordered: list[OfferingRoute], state: RouteState
) -> NoProviderAvailable:
    """503 with Retry-After: the soonest moment a skipped provider may be tried again."""
    now = breakers.clock()
    waits = [s.retry_at - now for s in map(state.of, ordered) if s.retry_at is not None]
    if not waits:  # only forced open: suggest the shortest cooldown
        waits = [float(min(o.breaker.cooldown_s for o in ordered))]
    retry_after = max(1, math.ceil(min(waits)))
    reasons = sorted({state.of(o).status for o in ordered})
    return NoProviderAvailable(
        f"No provider for {route.key} is available now ({', '.join(reasons)}).",
        headers={"Retry-After": str(retry_after)},
    )
