"""Strategies order the candidate offerings of a call; failover walks that order.

A strategy is a small class registered by name; ops choose one per method in the routing
policy. Built in: priority, weighted, cheapest, fastest, pinned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from apps.catalog.registry import registry
from apps.routing.breakers import RouteState
from apps.routing.routes import OfferingRoute


@dataclass(frozen=True)
class RoutingContext:
    method: str
    client: str
    country: str  # the requester's country: the client's, or X-Requester-Country
    pinned: str | None = None
    # Shared state read for this call: breakers, latency EWMAs, the weighted rotation.
    state: RouteState = field(default_factory=RouteState)


class Strategy:
    """Orders every candidate (never drops one: failover continues down the order).

    Set `uses_rotation` to have the call step the shared smooth weighted round robin over
    the available candidates first; `context.state.rotation` then holds its order.
    """

    name: ClassVar[str]
    uses_rotation: ClassVar[bool] = False

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        raise NotImplementedError


# The catalog's registry holds them, so that the catalog can check a policy's strategy name.
strategies: dict[str, Strategy] = registry.strategies


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    strategies[cls.name] = cls()
    return cls


@register_strategy
class PriorityStrategy(Strategy):
    """Lowest priority number first; ties by provider slug, so the order is stable."""

    name = "priority"

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        return sorted(candidates, key=lambda o: (o.priority, o.provider.slug))


def by_priority(offering: OfferingRoute) -> tuple[int, str]:
    """The sort key of priority order; strategies use it to break their ties."""
    return (offering.priority, offering.provider.slug)


@register_strategy
class WeightedStrategy(Strategy):
    """Traffic split by offering weight: smooth weighted round robin, counters in Redis.

    The rotation's pick first, then the other available candidates in the order the
    rotation would reach them, then the unavailable ones (skipped) by priority.
    """

    name = "weighted"
    uses_rotation = True

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        rank = {offering_id: i for i, offering_id in enumerate(context.state.rotation)}
        return sorted(
            candidates,
            key=lambda o: (rank.get(o.offering_id, len(rank)), *by_priority(o)),
        )


@register_strategy
class CheapestStrategy(Strategy):
    """Lowest cost for this call: the requester's country cost if set, else the offering's."""

    name = "cheapest"

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        return sorted(candidates, key=lambda o: (o.cost_for(context.country), *by_priority(o)))


@register_strategy
class FastestStrategy(Strategy):
    """Lowest recent latency (EWMA shared in Redis); ties by priority.

    A provider with no latency yet counts as fastest, so that it gets measured.
    """

    name = "fastest"

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        def latency(o: OfferingRoute) -> float:
            return context.state.of(o).ewma_ms or 0.0

        return sorted(candidates, key=lambda o: (latency(o), *by_priority(o)))


@register_strategy
class PinnedStrategy(Strategy):
    """Used when service code pins a call to one provider (CallContext.pinned_provider).

    The executor then offers only that provider, never another. Chosen by ops for a method,
    it orders calls that carry no pin by priority.
    """

    name = "pinned"

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        return sorted(candidates, key=by_priority)
