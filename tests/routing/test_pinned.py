"""A call pinned by service code to one provider never goes to another."""

from collections.abc import Iterator

import pytest
import respx

from apps.catalog.providers import CallContext
from apps.catalog.registry import registry
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord
from apps.routing.executor import CallFailed, execute
from apps.routing.routes import MethodRoute, RoutingPolicy
from tests.integrations.currency.vendor_answers import FIXER_LATEST, OXR_LATEST
from tests.support.routing import FIXER_URL, OXR_URL, route_of

FIXER = route_of(
    "fixer",
    offering_id=1,
    priority=1,
    adapter="currency.fixer",
    base_url=FIXER_URL,
    credentials={"access_key": "fx"},
)
OXR = route_of(
    "openexchangerates",
    offering_id=2,
    priority=2,
    adapter="currency.openexchangerates",
    base_url=OXR_URL,
    credentials={"app_id": "oxr"},
)
ROUTE = MethodRoute(
    key="currency.latest_rates",
    spec=registry.method("currency.latest_rates"),
    policy=RoutingPolicy(strategy="cheapest"),
    offerings=(FIXER, OXR),
)


def pinned_to(slug: str | None) -> CallContext:
    return CallContext(
        request_id="r1", method=ROUTE.key, client="acme", country="DE", pinned_provider=slug
    )


@pytest.fixture
def named_vendors() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{FIXER_URL}/latest", name="fixer").respond(json=FIXER_LATEST)
        router.get(f"{OXR_URL}/latest.json", name="oxr").respond(json=OXR_LATEST)
        yield router


async def test_a_pinned_call_goes_to_its_provider_whatever_the_strategy(named_vendors):
    outcome = await execute(
        route=ROUTE, payload={"base": "USD"}, context=pinned_to("openexchangerates")
    )

    assert outcome.offering.provider.slug == "openexchangerates"
    assert not named_vendors["fixer"].called
    assert outcome.decision == {
        "strategy": "pinned",
        "pinned": "openexchangerates",
        "candidates": ["openexchangerates"],
        "skipped": [],
    }


async def test_a_pinned_provider_that_is_down_gives_503_never_another_provider(
    named_vendors, clock
):
    # given the pinned provider's breaker is open
    await breakers.route_end([AttemptRecord(OXR, breakers.FAULT, "http_error")] * 5)

    # when
    with pytest.raises(CallFailed) as failed:
        await execute(route=ROUTE, payload={"base": "USD"}, context=pinned_to("openexchangerates"))

    # then
    assert failed.value.error.status == 503
    assert "Retry-After" in failed.value.error.headers
    assert not named_vendors["fixer"].called and not named_vendors["oxr"].called
    assert failed.value.decision["skipped"] == [
        {"provider": "openexchangerates", "reason": "circuit_open"}
    ]


async def test_a_pin_to_a_provider_that_does_not_serve_the_method_gives_503(named_vendors):
    with pytest.raises(CallFailed) as failed:
        await execute(route=ROUTE, payload={"base": "USD"}, context=pinned_to("godaddy"))

    assert failed.value.error.status == 503
    assert "godaddy" in failed.value.error.detail
    assert not named_vendors["fixer"].called and not named_vendors["oxr"].called


async def test_a_pinned_provider_that_fails_is_not_failed_over(named_vendors):
    named_vendors["oxr"].respond(status_code=500)

    with pytest.raises(CallFailed) as failed:
        await execute(route=ROUTE, payload={"base": "USD"}, context=pinned_to("openexchangerates"))

    assert failed.value.error.status == 502
    assert [(a.provider, a.outcome) for a in failed.value.attempts] == [
        ("openexchangerates", "http_error")
    ]
    assert not named_vendors["fixer"].called


async def test_an_unpinned_call_is_routed_by_the_methods_strategy(named_vendors):
    outcome = await execute(route=ROUTE, payload={"base": "USD"}, context=pinned_to(None))

    assert outcome.decision["strategy"] == "cheapest"
    assert outcome.decision["candidates"] == ["fixer", "openexchangerates"]
