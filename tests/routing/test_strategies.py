"""Each strategy's order on a small catalog, and what the ledger row says about the decision."""

from collections import Counter
from decimal import Decimal

import pytest

from apps.catalog.models import OfferingCountryCost
from apps.catalog.providers import OUTCOME_OK
from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord
from apps.routing.services import offering_breaker_force
from apps.routing.strategies import (
    RoutingContext,
    WeightedStrategy,
    register_strategy,
    strategies,
)
from tests.support.calls import jwt_for
from tests.support.routing import (
    CONVERT,
    offering_of,
    post,
    route_of,
    sandbox_catalog,
    set_policy,
)

ALPHA = route_of("alpha", offering_id=1, priority=1, cost="0.0030", country_costs={"DE": "0.0010"})
BETA = route_of("beta", offering_id=2, priority=2, cost="0.0020")
GAMMA = route_of("gamma", offering_id=3, priority=3, cost="0.0020")


async def order(name: str, candidates, *, country: str = "FR", rotate: bool = False):
    state = await breakers.route_begin(candidates, method="currency.latest_rates", rotate=rotate)
    context = RoutingContext(
        method="currency.latest_rates", client="acme", country=country, state=state
    )
    ordered = await strategies[name].order(candidates, context)
    return [o.provider.slug for o in ordered]


async def test_priority_orders_by_priority():
    assert await order("priority", [GAMMA, ALPHA, BETA]) == ["alpha", "beta", "gamma"]


async def test_cheapest_uses_the_requesters_country_cost_and_breaks_ties_by_priority():
    # alpha costs 0.0030, but 0.0010 for German requesters; beta and gamma tie at 0.0020
    assert await order("cheapest", [GAMMA, ALPHA, BETA], country="FR") == [
        "beta",
        "gamma",
        "alpha",
    ]
    assert await order("cheapest", [GAMMA, ALPHA, BETA], country="DE") == [
        "alpha",
        "beta",
        "gamma",
    ]


async def test_fastest_orders_by_recent_latency_and_measures_unknown_providers_first():
    # given alpha and beta have answered, alpha slowly; gamma was never measured
    await breakers.route_end(
        [
            AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=900),
            AttemptRecord(BETA, breakers.SUCCESS, OUTCOME_OK, latency_ms=100),
        ]
    )

    assert await order("fastest", [ALPHA, BETA, GAMMA]) == ["gamma", "beta", "alpha"]


async def test_fastest_follows_the_moving_average_not_one_call():
    # given alpha was fast many times, then slow once
    for _ in range(5):
        await breakers.route_end(
            [
                AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=100),
                AttemptRecord(BETA, breakers.SUCCESS, OUTCOME_OK, latency_ms=200),
            ]
        )
    await breakers.route_end([AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=400)])

    # then one slow answer (EWMA 100 -> 190) does not yet make it slower than beta
    assert await order("fastest", [ALPHA, BETA]) == ["alpha", "beta"]
    await breakers.route_end([AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=400)])
    assert await order("fastest", [ALPHA, BETA]) == ["beta", "alpha"]


async def test_weighted_is_smooth_weighted_round_robin_and_orders_every_candidate():
    heavy = route_of("heavy", offering_id=11, weight=5)
    light1 = route_of("light1", offering_id=12, weight=1)
    light2 = route_of("light2", offering_id=13, weight=1)

    orders = [await order("weighted", [heavy, light1, light2], rotate=True) for _ in range(7)]

    # the classic smooth sequence: the heavy one is never sent a burst of the light ones' share
    assert [o[0] for o in orders] == [
        "heavy",
        "heavy",
        "light1",
        "heavy",
        "light2",
        "heavy",
        "heavy",
    ]
    assert all(sorted(o) == ["heavy", "light1", "light2"] for o in orders)


async def test_pinned_orders_by_priority_when_a_call_carries_no_pin():
    assert await order("pinned", [BETA, ALPHA]) == ["alpha", "beta"]


# --- through the endpoint -------------------------------------------------------------------


@pytest.fixture
def cheap_catalog(db):
    """alpha is cheaper for convert, dearer for rates, and cheapest of all for Germany."""
    providers = sandbox_catalog(
        {
            "alpha": {
                "currency.latest_rates": "0.0030",
                "currency.convert": "0.0010",
                "priority": 1,
            },
            "beta": {
                "currency.latest_rates": "0.0020",
                "currency.convert": "0.0020",
                "priority": 2,
            },
        }
    )
    OfferingCountryCost.objects.create(
        offering=offering_of("alpha"), country="DE", cost=Decimal("0.0005")
    )
    for method in ("latest_rates", "convert"):
        set_policy(method, strategy="cheapest")
    return providers


def test_cheapest_switches_provider_with_the_requesters_country(
    api, caller, cheap_catalog, settings
):
    # given acme's country is DE, where alpha is cheapest
    german = post(api, caller)
    # when an internal service calls for an end customer in France
    token = jwt_for("acme", settings)
    french = post(
        api, caller, headers={"Authorization": f"Bearer {token}", "X-Requester-Country": "FR"}
    )

    # then
    assert (german.status_code, german["X-Provider"]) == (200, "alpha")
    assert (french.status_code, french["X-Provider"]) == (200, "beta")
    entries = {e.country: e for e in LedgerEntry.objects.all()}
    assert (entries["DE"].provider, entries["DE"].cost) == ("alpha", Decimal("0.0005"))
    assert (entries["FR"].provider, entries["FR"].cost) == ("beta", Decimal("0.0020"))
    # the price is the plan's, whoever served
    assert german["X-Price"] == french["X-Price"] == "0.0100"


def test_cheapest_switches_provider_with_the_method(api, caller, cheap_catalog):
    # given a French client: alpha is dearer for rates and cheaper for convert
    caller.client.country = "FR"
    caller.client.save()

    rates = post(api, caller)
    convert = post(api, caller, CONVERT, {"from": "USD", "to": "EUR", "amount": "10.00"})

    assert rates["X-Provider"] == "beta"
    assert convert["X-Provider"] == "alpha"


def test_the_ledger_row_records_the_decision(api, caller, db, clock):
    # given three providers, the first forced open by ops
    sandbox_catalog({"alpha": {"priority": 1}, "beta": {"priority": 2}, "gamma": {"priority": 3}})
    offering_breaker_force(offering_ids=[offering_of("alpha").pk], mode=breakers.FORCE_OPEN)

    # when
    response = post(api, caller)

    # then finance can read why beta served
    assert response["X-Provider"] == "beta"
    assert LedgerEntry.objects.get().routing == {
        "strategy": "priority",
        "candidates": ["alpha", "beta", "gamma"],
        "skipped": [{"provider": "alpha", "reason": "forced_open"}],
    }


def test_weighted_splits_calls_through_the_endpoint(api, caller, db):
    sandbox_catalog({"alpha": {"weight": 3}, "beta": {"weight": 1}})
    set_policy("latest_rates", strategy="weighted")

    served = Counter(post(api, caller)["X-Provider"] for _ in range(8))

    assert served == {"alpha": 6, "beta": 2}
    assert {e.routing["strategy"] for e in LedgerEntry.objects.all()} == {"weighted"}


@pytest.fixture
def email_cost_saving():
    """A custom strategy registered in code, the way the original system's example was."""

    @register_strategy
    class EmailCostSaving(WeightedStrategy):
        """Round robin among the providers, but never the dearest one while others are up."""

        name = "email-cost-saving"

        async def order(self, candidates, context):
            rotated = await super().order(candidates, context)
            dearest = max(candidates, key=lambda o: o.cost)
            return [o for o in rotated if o is not dearest] + [dearest]

    yield EmailCostSaving
    del strategies["email-cost-saving"]


def test_ops_choose_a_custom_strategy_by_name(api, caller, db, email_cost_saving):
    sandbox_catalog(
        {
            "alpha": {"currency.latest_rates": "0.0010"},
            "beta": {"currency.latest_rates": "0.0010"},
            "gamma": {"currency.latest_rates": "0.0090", "priority": 1},
        }
    )
    set_policy("latest_rates", strategy="email-cost-saving")

    served = Counter(post(api, caller)["X-Provider"] for _ in range(6))

    # the dearest provider, though first by priority, served nothing; the others shared
    assert set(served) == {"alpha", "beta"}
    routing = LedgerEntry.objects.first().routing
    assert routing["strategy"] == "email-cost-saving"
    assert routing["candidates"][-1] == "gamma"
