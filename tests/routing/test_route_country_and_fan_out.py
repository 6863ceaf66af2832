"""Two routing seams services use: routing by a call's country, and asking every provider."""

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import respx

from apps.catalog.providers import CallContext
from apps.catalog.registry import registry
from apps.routing.executor import CallFailed, execute
from apps.routing.routes import MethodRoute, RoutingPolicy
from tests.integrations.currency.vendor_answers import FIXER_LATEST, OXR_LATEST
from tests.support.routing import FIXER_URL, OXR_URL, route_of

FIXER = dataclasses.replace(
    route_of(
        "fixer",
        offering_id=1,
        priority=1,
        cost="0.0030",
        adapter="currency.fixer",
        base_url=FIXER_URL,
        credentials={"access_key": "fx"},
    ),
    countries=frozenset({"US"}),
)
OXR = dataclasses.replace(
    route_of(
        "openexchangerates",
        offering_id=2,
        priority=2,
        cost="0.0020",
        adapter="currency.openexchangerates",
        base_url=OXR_URL,
        credentials={"app_id": "oxr"},
    ),
    countries=frozenset({"US", "CA"}),
)
LATEST = registry.method("currency.latest_rates")


def context(route_country: str = "") -> CallContext:
    return CallContext(
        request_id="r1",
        method="currency.latest_rates",
        client="acme",
        country="DE",
        route_country=route_country,
    )


@pytest.fixture
def named_vendors() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{FIXER_URL}/latest", name="fixer").respond(json=FIXER_LATEST)
        router.get(f"{OXR_URL}/latest.json", name="oxr").respond(json=OXR_LATEST)
        yield router


ROUTE = MethodRoute(
    key="currency.latest_rates", spec=LATEST, policy=RoutingPolicy(), offerings=(FIXER, OXR)
)


async def test_a_call_routed_by_country_goes_only_to_providers_serving_it(named_vendors):
    outcome = await execute(route=ROUTE, payload={"base": "USD"}, context=context("CA"))

    assert outcome.offering.provider.slug == "openexchangerates"
    assert not named_vendors["fixer"].called
    assert outcome.decision["candidates"] == ["openexchangerates"]
    assert outcome.decision["route_country"] == "CA"


async def test_a_country_no_provider_serves_is_503_naming_it(named_vendors):
    with pytest.raises(CallFailed) as failed:
        await execute(route=ROUTE, payload={"base": "USD"}, context=context("FR"))

    assert failed.value.error.status == 503
    assert "serves FR" in failed.value.error.detail
    assert not named_vendors.calls


async def test_without_a_route_country_every_provider_is_a_candidate(named_vendors):
    outcome = await execute(route=ROUTE, payload={"base": "USD"}, context=context())

    assert outcome.decision["candidates"] == ["fixer", "openexchangerates"]


def cheapest_gbp(answers: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    slug, data = min(answers, key=lambda answer: answer[1]["rates"]["GBP"])
    return slug, {**data, "chosen": slug}


FAN_OUT = MethodRoute(
    key="currency.latest_rates",
    spec=dataclasses.replace(LATEST, fan_out=cheapest_gbp),
    policy=RoutingPolicy(max_attempts=1),
    offerings=(FIXER, OXR),
)


async def test_fan_out_asks_every_provider_and_the_hook_picks_the_answer(named_vendors):
    outcome = await execute(route=FAN_OUT, payload={"base": "USD"}, context=context())

    assert named_vendors["fixer"].called and named_vendors["oxr"].called
    # OXR quotes the lower GBP rate: the hook picks its answer
    assert outcome.offering.provider.slug == "openexchangerates"
    assert outcome.data["chosen"] == "openexchangerates"
    assert [a.outcome for a in outcome.attempts] == ["ok", "ok"]
    assert outcome.cost == Decimal("0.0050")  # both answered, both are paid for


async def test_fan_out_is_served_by_those_that_answered(named_vendors):
    named_vendors["fixer"].respond(500)

    outcome = await execute(route=FAN_OUT, payload={"base": "USD"}, context=context())

    assert outcome.offering.provider.slug == "openexchangerates"
    assert sorted(a.outcome for a in outcome.attempts) == ["http_error", "ok"]
    assert outcome.cost == Decimal("0.0020")


async def test_fan_out_with_every_provider_failing_is_502_with_the_attempts(named_vendors):
    named_vendors["fixer"].respond(500)
    named_vendors["oxr"].respond(503, json={"error": True, "status": 503, "message": "down"})

    with pytest.raises(CallFailed) as failed:
        await execute(route=FAN_OUT, payload={"base": "USD"}, context=context())

    assert failed.value.error.status == 502
    assert len(failed.value.error.attempts) == 2


async def test_fan_out_with_every_provider_rejecting_the_input_is_422(named_vendors):
    named_vendors["fixer"].respond(
        json={"success": False, "error": {"code": 201, "type": "invalid_base_currency"}}
    )
    named_vendors["oxr"].respond(
        400,
        json={
            "error": True,
            "status": 400,
            "message": "invalid_base",
            "description": "Client requested rates for an unsupported base currency",
        },
    )

    with pytest.raises(CallFailed) as failed:
        await execute(route=FAN_OUT, payload={"base": "XXX"}, context=context())

    assert failed.value.error.status == 422
