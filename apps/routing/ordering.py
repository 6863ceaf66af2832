"""Which candidates a call has, and in what order: the strategy's, guarded against its bugs."""

from __future__ import annotations

import logging
from typing import Any

from apps.catalog.failures import bug_reason
from apps.catalog.providers import CallContext
from apps.routing.routes import MethodRoute, OfferingRoute
from apps.routing.strategies import RoutingContext, Strategy, by_priority, strategies

logger = logging.getLogger(__name__)


def candidates_of(
    route: MethodRoute, context: CallContext
) -> tuple[Strategy, tuple[OfferingRoute, ...]]:
    if context.pinned_provider:
        pinned = tuple(o for o in route.offerings if o.provider.slug == context.pinned_provider)
        return strategies["pinned"], pinned
    offerings = route.offerings
    if context.route_country:
        offerings = tuple(o for o in offerings if o.serves(context.route_country))
    return strategies.get(route.policy.strategy) or strategies["priority"], offerings


async def ordered_candidates(
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


def decision_of(
    strategy: Strategy, ordered: list[OfferingRoute], strategy_error: str, context: CallContext
) -> dict[str, Any]:
    """How the candidates were ordered, as the ledger row keeps it."""
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
    return decision
