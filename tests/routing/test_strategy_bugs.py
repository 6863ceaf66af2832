"""A custom strategy is code written for one method; a bug in it must not take the method down.

A strategy that raises is replaced, for that call, by priority order (and the ledger row
says so); one that leaves candidates out or names one twice still gets every candidate
tried once, in its order first, the forgotten ones after, by priority.
"""

from collections.abc import Iterator

import pytest

from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from apps.routing.services import offering_breaker_force
from apps.routing.strategies import Strategy, register_strategy, strategies
from tests.support.routing import offering_of, post, sandbox_catalog, set_policy

pytestmark = pytest.mark.django_db


@pytest.fixture
def custom_strategy() -> Iterator[type[Strategy]]:
    """Registers the strategy class a test defines, and removes it afterwards."""
    registered: list[str] = []

    def register(cls: type[Strategy]) -> type[Strategy]:
        register_strategy(cls)
        registered.append(cls.name)
        return cls

    yield register  # type: ignore[misc]
    for name in registered:
        del strategies[name]


@pytest.fixture
def three_providers(db):
    sandbox_catalog({"alpha": {"priority": 1}, "beta": {"priority": 2}, "gamma": {"priority": 3}})


def test_a_strategy_that_raises_falls_back_to_priority_for_that_call(
    api, caller, three_providers, custom_strategy
):
    # given ops chose a custom strategy with a bug
    @custom_strategy
    class ByEmailDomain(Strategy):
        name = "by-email-domain"

        async def order(self, candidates, context):
            raise KeyError("to_email")

    set_policy("latest_rates", strategy="by-email-domain")

    # when
    response = post(api, caller)

    # then the call is served all the same, in priority order, and the row says why
    assert (response.status_code, response["X-Provider"]) == (200, "alpha")
    routing = LedgerEntry.objects.get().routing
    assert routing["strategy"] == "by-email-domain"
    assert routing["candidates"] == ["alpha", "beta", "gamma"]
    assert "KeyError" in routing["strategy_error"]


def test_candidates_a_strategy_forgets_are_still_tried_after_its_own(
    api, caller, three_providers, custom_strategy
):
    # given a strategy that names gamma twice and forgets alpha and beta
    @custom_strategy
    class OnlyGamma(Strategy):
        name = "only-gamma"

        async def order(self, candidates, context):
            gamma = next(o for o in candidates if o.provider.slug == "gamma")
            return [gamma, gamma]

    set_policy("latest_rates", strategy="only-gamma")
    # and gamma is drained: the call must go on to the providers the strategy forgot
    offering_breaker_force(offering_ids=[offering_of("gamma").pk], mode=breakers.FORCE_OPEN)

    # when
    response = post(api, caller)

    # then
    assert (response.status_code, response["X-Provider"]) == (200, "alpha")
    routing = LedgerEntry.objects.get().routing
    assert routing["candidates"] == ["gamma", "alpha", "beta"]
    assert routing["skipped"] == [{"provider": "gamma", "reason": "forced_open"}]
    assert "strategy_error" not in routing
