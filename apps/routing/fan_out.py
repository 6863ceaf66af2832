"""Fan-out: every usable candidate asked at once, the method's hook combining the answers."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from apps.catalog.providers import InvalidInput
from apps.core.errors import AllProvidersFailed
from apps.routing.ask import Answer, RoutedCall, ask
from apps.routing.attempts import public_attempts, rejected_input
from apps.routing.outcomes import CallFailed, CallOutcome, deadline_exceeded
from apps.routing.routes import OfferingRoute


async def fan_out(call: RoutedCall, usable: list[OfferingRoute]) -> CallOutcome:
    """Ask every usable candidate at once; the method's fan_out hook combines the answers.

    The call is served when at least one provider answered; its cost is what every provider
    that answered charged. All rejecting the input is a 422; all failing, a 502.
    """
    combine = call.route.spec.fan_out
    assert combine is not None
    remaining = max(0.0, call.deadline - time.monotonic())
    answers = await asyncio.gather(*(ask(call, o, remaining) for o in usable))
    attempts = [answer.attempt for answer in answers]
    call.decision["fan_out"] = len(usable)
    answered = [
        (offering, answer.data)
        for offering, answer in zip(usable, answers, strict=True)
        if answer.data is not None
    ]
    if not answered:
        raise CallFailed(_nobody_answered(call, usable, answers), attempts, call.decision)
    try:
        slug, data = combine([(o.provider.slug, d) for o, d in answered])
    except InvalidInput as exc:  # the answers together refuse it (nowhere available)
        refused = rejected_input(exc, attempts, [o.provider.credentials for o, _ in answered])
        raise CallFailed(refused, attempts, call.decision) from exc
    return CallOutcome(
        data=data,
        offering=next(o for o, _ in answered if o.provider.slug == slug),
        cost=sum((o.cost_for(call.context.country) for o, _ in answered), Decimal(0)),
        attempts=attempts,
        decision=call.decision,
    )


def _nobody_answered(
    call: RoutedCall, usable: list[OfferingRoute], answers: list[Answer]
) -> Exception:
    """Nobody answered: all refused the input (422), all timed out, or all failed (502)."""
    attempts = [answer.attempt for answer in answers]
    rejected = [a.error for a in answers if isinstance(a.error, InvalidInput)]
    if rejected and len(rejected) == len(answers):
        credentials = [o.provider.credentials for o in usable]
        return rejected_input(rejected[0], attempts, credentials)
    if all(isinstance(a.error, TimeoutError) for a in answers):
        return deadline_exceeded(call.route, attempts)
    return AllProvidersFailed(
        f"Every provider asked for {call.route.key} failed.", attempts=public_attempts(attempts)
    )
