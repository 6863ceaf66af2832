"""Call a method through its candidate providers, failing over on provider faults.

Only provider faults fail over. A provider saying the input is invalid ends the call with
422. A non-idempotent method (an email) never goes to a second provider after an attempt
whose outcome is unknown (a timeout, or a dropped connection, once the request was sent):
the first may have sent it.

Before the first attempt every candidate's breaker (open, half-open, forced, cooling down after
a 429) and latency are known: read with admission's versions, or by a round trip of their own
when a probe lease must be taken or the weighted rotation stepped. After the last attempt what
every attempt said is recorded: a fault at once, successes batched across calls. Candidates that
may not be tried are skipped and named, with the reason, in the decision on the ledger row.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from apps.catalog.providers import (
    OUTCOME_CONNECTION,
    OUTCOME_TIMEOUT,
    CallContext,
    InvalidInput,
    ProviderFault,
)
from apps.core.errors import AllProvidersFailed, NoProviderAvailable
from apps.observability.metrics import attempts_made
from apps.routing import breakers
from apps.routing.ask import RoutedCall, ask
from apps.routing.attempts import Attempt, public_attempts, rejected_input
from apps.routing.breakers import AttemptRecord, RouteState
from apps.routing.fan_out import fan_out
from apps.routing.http import http_client
from apps.routing.ordering import candidates_of, decision_of, ordered_candidates
from apps.routing.outcomes import CallFailed, CallOutcome, deadline_exceeded
from apps.routing.routes import MethodRoute, OfferingRoute
from apps.routing.strategies import RoutingContext

__all__ = ["CallFailed", "CallOutcome", "execute"]

logger = logging.getLogger(__name__)

# Faults after the request went out with no answer back: the provider may have acted on it,
# so a method that is not idempotent stops there (a reset connection is as unknown as a
# timeout: an email may be queued before the server drops the line).
_NO_ANSWER = {OUTCOME_TIMEOUT, OUTCOME_CONNECTION}


async def execute(
    *, route: MethodRoute, payload: dict[str, Any], context: CallContext
) -> CallOutcome:
    """Route one call. Raises CallFailed wrapping a GatewayError when no provider served."""
    deadline = time.monotonic() + route.policy.deadline_ms / 1000
    strategy, candidates = candidates_of(route, context)
    state = await breakers.route_begin(candidates, method=route.key, rotate=strategy.uses_rotation)
    routing_context = RoutingContext(
        method=route.key,
        client=context.client,
        country=context.country,
        pinned=context.pinned_provider,
        state=state,
    )
    ordered, strategy_error = await ordered_candidates(strategy, candidates, routing_context)
    call = RoutedCall(
        route=route,
        payload=payload,
        context=context,
        state=state,
        deadline=deadline,
        http=http_client(),
        decision=decision_of(strategy, ordered, strategy_error, context),
    )
    try:
        return await _route(call, ordered)
    finally:
        await _finish(call, ordered)


async def _finish(call: RoutedCall, ordered: list[OfferingRoute]) -> None:
    """Tell the breakers what every attempt said (successes are batched with other calls'),
    then count the attempts."""
    records = call.records
    made = [(r.offering.provider.slug, r.outcome, r.latency_ms) for r in records]
    # Probe leases this call took but did not use go back at once.
    tried = {r.offering.offering_id for r in records}
    unused = [
        AttemptRecord(offering=o, kind=breakers.RELEASE, probe=True)
        for o in ordered
        if call.state.of(o).status == breakers.PROBE and o.offering_id not in tried
    ]
    await breakers.route_end_soon([*records, *unused])
    attempts_made(call.route.key, made)


async def _route(call: RoutedCall, ordered: list[OfferingRoute]) -> CallOutcome:
    """Skip the candidates that may not be tried now, then fail over or fan out."""
    if not ordered:
        raise CallFailed(NoProviderAvailable(_nobody_serves(call)), [], call.decision)
    state = call.state
    call.decision["skipped"] += [
        {"provider": o.provider.slug, "reason": state.of(o).status}
        for o in ordered
        if not state.of(o).available
    ]
    usable = [o for o in ordered if state.of(o).available]
    if not usable:
        raise CallFailed(_all_unavailable(call.route, ordered, state), [], call.decision)
    if call.route.spec.fan_out is not None:
        return await fan_out(call, usable)
    return await _failover(call, usable)


def _nobody_serves(call: RoutedCall) -> str:
    key, context = call.route.key, call.context
    if context.pinned_provider:
        return f"Provider {context.pinned_provider} is not available for {key}."
    if context.route_country:
        return f"No enabled provider of {key} serves {context.route_country}."
    return f"No enabled provider serves {key}."


async def _failover(call: RoutedCall, usable: list[OfferingRoute]) -> CallOutcome:
    """Try the candidates in order until one serves, within the attempts and the deadline."""
    policy = call.route.policy
    budget = policy.max_attempts if policy.failover else 1
    attempts: list[Attempt] = []
    for offering in usable:
        if len(attempts) >= budget:
            call.decision["skipped"].append(
                {"provider": offering.provider.slug, "reason": "max_attempts"}
            )
            continue
        remaining = call.deadline - time.monotonic()
        if remaining <= 0:
            raise CallFailed(deadline_exceeded(call.route, attempts), attempts, call.decision)
        answer = await ask(call, offering, remaining)
        attempts.append(answer.attempt)
        if answer.error is None:
            assert answer.data is not None
            return CallOutcome(
                data=answer.data,
                offering=offering,
                cost=offering.cost_for(call.context.country),
                attempts=attempts,
                decision=call.decision,
            )
        if _stops_here(call, offering, answer.error, attempts):
            break
    raise CallFailed(
        AllProvidersFailed(
            f"Every provider tried for {call.route.key} failed.",
            attempts=public_attempts(attempts),
        ),
        attempts,
        call.decision,
    )


def _stops_here(
    call: RoutedCall, offering: OfferingRoute, error: Exception, attempts: list[Attempt]
) -> bool:
    """After a failed attempt: raise CallFailed when the call ends with it; True when no
    other provider may be tried; False to fail over to the next."""
    route, decision = call.route, call.decision
    if isinstance(error, InvalidInput):
        refused = rejected_input(error, attempts, [offering.provider.credentials])
        raise CallFailed(refused, attempts, decision) from error
    if isinstance(error, TimeoutError):
        if not route.spec.idempotent:
            decision["outcome"] = "unknown"  # the request may have gone out
        raise CallFailed(deadline_exceeded(route, attempts), attempts, decision) from None
    if isinstance(error, ProviderFault):
        logger.warning(
            "provider %s failed %s: %s: %s",
            offering.provider.slug,
            route.key,
            attempts[-1].outcome,
            attempts[-1].error,
        )
        if error.sent and error.outcome in _NO_ANSWER and not route.spec.idempotent:
            decision["stopped"] = "outcome unknown on a non-idempotent method"
            decision["outcome"] = "unknown"  # it may have been served: reconcile by hand
            return True
    return False


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
