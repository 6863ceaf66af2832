"""Strategies order the candidate offerings of a call; failover walks that order.

A strategy is a small class registered by name; ops choose one per method in the routing
policy. Issue-specific strategies (weighted, cheapest, fastest, pinned) register here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from apps.routing.routes import OfferingRoute


@dataclass(frozen=True)
class RoutingContext:
    method: str
    client: str
    country: str


class Strategy:
    """Orders every candidate (never drops one: failover continues down the order)."""

    name: ClassVar[str]

    async def order(
        self, candidates: Sequence[OfferingRoute], context: RoutingContext
    ) -> list[OfferingRoute]:
        raise NotImplementedError


strategies: dict[str, Strategy] = {}


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
