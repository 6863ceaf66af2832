"""Call a method through its candidate providers, failing over on provider faults.

Only provider faults fail over. A provider saying the input is invalid ends the call with
422. A non-idempotent method (an email) never goes to a second provider after an attempt
whose outcome is unknown (a timeout once the request was sent): the first may have sent it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from apps.catalog.providers import (
    OUTCOME_ADAPTER_ERROR,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OK,
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
    ProviderRejectedInput,
)
from apps.routing.http import http_client
from apps.routing.routes import MethodRoute, OfferingRoute
from apps.routing.strategies import RoutingContext, strategies

logger = logging.getLogger(__name__)


@dataclass
class Attempt:
    provider: str
    outcome: str
    latency_ms: int
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "provider": self.provider,
            "outcome": self.outcome,
            "latency_ms": self.latency_ms,
        }
        if self.error:
            data["error"] = self.error
        return data


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


async def execute(
    *, route: MethodRoute, payload: dict[str, Any], context: CallContext
) -> CallOutcome:
    """Route one call. Raises CallFailed wrapping a GatewayError when no provider served."""
    policy = route.policy
    strategy = strategies.get(policy.strategy) or strategies["priority"]
    routing_context = RoutingContext(
        method=route.key, client=context.client, country=context.country
    )
    ordered = await strategy.order(route.offerings, routing_context)
    decision: dict[str, Any] = {
        "strategy": strategy.name,
        "candidates": [o.provider.slug for o in ordered],
        "skipped": [],
    }
    attempts: list[Attempt] = []
    if not ordered:
        raise CallFailed(
            NoProviderAvailable(f"No enabled provider serves {route.key}."), attempts, decision
        )

    deadline = time.monotonic() + policy.deadline_ms / 1000
    budget = policy.max_attempts if policy.failover else 1
    http = http_client()
    for offering in ordered:
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
                    attempts=[a.as_dict() for a in attempts],
                ),
                attempts,
                decision,
            )
        adapter = offering.adapter(offering.provider, http)
        started = time.monotonic()
        try:
            if not offering.credentials_readable:
                raise ProviderFault(
                    OUTCOME_MISCONFIGURED,
                    "credentials cannot be decrypted with the configured keys",
                    sent=False,
                )
            data = await asyncio.wait_for(
                adapter.call(route.spec.name, payload, context), timeout=remaining
            )
        except InvalidInput as exc:
            attempts.append(
                Attempt(offering.provider.slug, OUTCOME_REJECTED, _ms_since(started), exc.detail)
            )
            raise CallFailed(
                ProviderRejectedInput(
                    exc.detail, errors=exc.errors, attempts=[a.as_dict() for a in attempts]
                ),
                attempts,
                decision,
            ) from exc
        except ProviderFault as fault:
            attempts.append(
                Attempt(offering.provider.slug, fault.outcome, _ms_since(started), fault.detail)
            )
            logger.warning("provider %s failed %s: %s", offering.provider.slug, route.key, fault)
            if fault.sent and fault.outcome == OUTCOME_TIMEOUT and not route.spec.idempotent:
                decision["stopped"] = "outcome unknown on a non-idempotent method"
                break
            continue
        except TimeoutError:
            attempts.append(
                Attempt(offering.provider.slug, OUTCOME_TIMEOUT, _ms_since(started), "deadline")
            )
            raise CallFailed(
                DeadlineExceeded(
                    f"{route.key} did not complete within {policy.deadline_ms} ms.",
                    attempts=[a.as_dict() for a in attempts],
                ),
                attempts,
                decision,
            ) from None
        except Exception as exc:
            # A bug in one adapter must not take the call down: record it, try the next.
            logger.exception("adapter %s raised on %s", offering.adapter.key, route.key)
            attempts.append(
                Attempt(
                    offering.provider.slug, OUTCOME_ADAPTER_ERROR, _ms_since(started), repr(exc)
                )
            )
            continue
        attempts.append(Attempt(offering.provider.slug, OUTCOME_OK, _ms_since(started)))
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
            attempts=[a.as_dict() for a in attempts],
        ),
        attempts,
        decision,
    )
