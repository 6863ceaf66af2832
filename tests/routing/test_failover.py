"""Failover through the real endpoint: faults move the call to the next provider.

fixer is tried first, Open Exchange Rates second. Vendors answer in their documented formats
(respx); a refused connection and a hanging server are real sockets on this machine.
"""

import json
from dataclasses import replace
from decimal import Decimal

import pytest
import respx

from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.catalog.providers import CallContext
from apps.catalog.registry import registry
from apps.ledger.models import LedgerEntry
from apps.routing.executor import CallFailed, execute
from apps.routing.routes import MethodRoute, OfferingRoute
from apps.routing.routes import RoutingPolicy as Policy
from tests.integrations.currency.vendor_answers import OXR_LATEST, apilayer_error

LATEST = "/api/v1/services/currency/latest_rates/"
FIXER_URL = "https://fixer.test/api"
OXR_URL = "https://oxr.test/api"

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("egress_private")]


def configure(
    slug: str, *, base_url: str, credentials: dict, priority: int, cost: str, timeout_ms: int = 1000
) -> Provider:
    provider = Provider.objects.get(slug=slug)
    provider.base_url, provider.credentials = base_url, credentials
    provider.enabled, provider.timeout_ms = True, timeout_ms
    provider.save()
    for offering in Offering.objects.filter(provider=provider):
        offering.priority, offering.cost = priority, Decimal(cost)
        offering.save()
    return provider


@pytest.fixture
def fixer_then_oxr(db: None) -> None:
    """fixer first and Open Exchange Rates second, with the default breakers (the
    conftest's `two_providers` sets fixer's own)."""
    Provider.objects.exclude(slug__in=["fixer", "openexchangerates"]).update(enabled=False)
    configure(
        "fixer", base_url=FIXER_URL, credentials={"access_key": "fx"}, priority=1, cost="0.0010"
    )
    configure(
        "openexchangerates",
        base_url=OXR_URL,
        credentials={"app_id": "oxr"},
        priority=2,
        cost="0.0030",
    )


def call(api, caller):
    return api.post(
        LATEST, json.dumps({"base": "USD"}), content_type="application/json", headers=caller.headers
    )


def assert_served_by_oxr_after(response, first_outcome: str) -> None:
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "openexchangerates"
    assert response["X-Price"] == "0.0100"
    entry = LedgerEntry.objects.get()
    assert [(a["provider"], a["outcome"]) for a in entry.attempts] == [
        ("fixer", first_outcome),
        ("openexchangerates", "ok"),
    ]
    assert (entry.provider, entry.cost, entry.price) == (
        "openexchangerates",
        Decimal("0.0030"),
        Decimal("0.0100"),
    )


@pytest.mark.parametrize(
    "fixer_answer, outcome",
    [
        ({"status_code": 500, "text": "Internal Server Error"}, "http_error"),
        ({"status_code": 503, "json": {"message": "maintenance"}}, "http_error"),
        ({"status_code": 200, "text": "<html>proxy error</html>"}, "malformed"),
        ({"status_code": 200, "json": {"success": True, "rates": "none"}}, "malformed"),
        (
            {"status_code": 200, "json": apilayer_error(104, "monthly_limit_reached")},
            "quota_exceeded",
        ),
        ({"status_code": 429, "headers": {"Retry-After": "30"}}, "quota_exceeded"),
        ({"status_code": 200, "json": apilayer_error(101, "invalid_access_key")}, "auth_failed"),
    ],
    ids=["500", "503", "html", "wrong-shape", "monthly-quota", "429", "bad-key"],
)
def test_a_provider_fault_fails_over(api, caller, fixer_then_oxr, vendors, fixer_answer, outcome):
    # given fixer answers with a fault
    vendors.get(f"{FIXER_URL}/latest").respond(**fixer_answer)

    # when / then the next provider serves, at the same price, at its own cost
    assert_served_by_oxr_after(call(api, caller), outcome)


def test_a_refused_connection_fails_over(api, caller, fixer_then_oxr, vendors, refused_url):
    configure(
        "fixer", base_url=refused_url, credentials={"access_key": "fx"}, priority=1, cost="0.0010"
    )

    assert_served_by_oxr_after(call(api, caller), "connection_error")


def test_a_hanging_provider_times_out_and_fails_over(
    api, caller, fixer_then_oxr, vendors, hanging_url
):
    configure(
        "fixer",
        base_url=hanging_url,
        credentials={"access_key": "fx"},
        priority=1,
        cost="0.0010",
        timeout_ms=200,
    )

    response = call(api, caller)

    assert_served_by_oxr_after(response, "timeout")
    assert 200 <= LedgerEntry.objects.get().attempts[0]["latency_ms"] < 1000


def test_invalid_input_is_422_without_failover(api, caller, fixer_then_oxr, vendors):
    # given fixer says the base currency does not exist
    vendors.get(f"{FIXER_URL}/latest").respond(json=apilayer_error(201, "invalid_base_currency"))

    # when
    response = call(api, caller)

    # then the client hears it, and the second provider was never asked
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/invalid-input"
    assert "base" in problem["errors"]
    assert [a["outcome"] for a in problem["attempts"]] == ["rejected"]
    assert not vendors.routes[1].called  # Open Exchange Rates
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("0")


def test_when_every_provider_fails_the_client_gets_502_with_the_attempts(
    api, caller, fixer_then_oxr, vendors
):
    # given both providers are failing
    vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    vendors.get(f"{OXR_URL}/latest.json").respond(status_code=502)

    # when
    response = call(api, caller)

    # then
    assert response.status_code == 502
    problem = response.json()
    assert [(a["provider"], a["outcome"]) for a in problem["attempts"]] == [
        ("fixer", "http_error"),
        ("openexchangerates", "http_error"),
    ]
    assert all(isinstance(a["latency_ms"], int) for a in problem["attempts"])
    # a failed call is recorded, and (by default) not charged
    entry = LedgerEntry.objects.get()
    assert (entry.status, entry.http_status, entry.price, entry.cost) == (
        "failed",
        502,
        Decimal("0"),
        Decimal("0"),
    )
    assert len(entry.attempts) == 2
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("0")


def test_a_plan_may_charge_failed_calls(api, caller, fixer_then_oxr, vendors):
    plan = caller.client.plan
    plan.charge_failed_calls = True
    plan.save()
    vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    vendors.get(f"{OXR_URL}/latest.json").respond(status_code=500)

    assert call(api, caller).status_code == 502

    assert LedgerEntry.objects.get().price == Decimal("0.0100")
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("-0.0100")


def test_max_attempts_and_failover_off_limit_the_providers_tried(
    api, caller, fixer_then_oxr, vendors
):
    fixer_route = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    policy = RoutingPolicy.objects.get(method__slug="latest_rates")

    for change in ({"max_attempts": 1}, {"max_attempts": 3, "failover": False}):
        # given a policy that allows a single attempt
        for field, value in change.items():
            setattr(policy, field, value)
        policy.save()

        # when / then only fixer was tried
        response = call(api, caller)
        assert response.status_code == 502
        assert [a["provider"] for a in response.json()["attempts"]] == ["fixer"]
        entry = LedgerEntry.objects.get(request_id=response.json()["request_id"])
        assert entry.routing["candidates"] == ["fixer", "openexchangerates"]
    assert fixer_route.call_count == 2


def test_the_total_deadline_ends_the_call_with_504(
    api, caller, fixer_then_oxr, vendors, hanging_url
):
    # given both providers hang longer than the method's deadline
    for slug in ("fixer", "openexchangerates"):
        configure(
            slug,
            base_url=hanging_url,
            credentials={"access_key": "x", "app_id": "x"} if slug == "fixer" else {"app_id": "x"},
            priority=1 if slug == "fixer" else 2,
            cost="0.0010",
            timeout_ms=2000,
        )
    policy = RoutingPolicy.objects.get(method__slug="latest_rates")
    policy.deadline_ms = 300
    policy.save()

    # when
    response = call(api, caller)

    # then
    assert response.status_code == 504
    problem = response.json()
    assert problem["type"] == "/problems/deadline-exceeded"
    assert [a["outcome"] for a in problem["attempts"]] == ["timeout"]
    assert LedgerEntry.objects.get().status == "failed"


async def test_a_non_idempotent_method_does_not_fail_over_after_an_unknown_outcome(hanging_url):
    # given a non-idempotent method whose first provider hangs after receiving the request
    fixer = registry.adapters["currency.fixer"]
    oxr = registry.adapters["currency.openexchangerates"]
    spec = replace(registry.method("currency.latest_rates"), idempotent=False)

    def offering(adapter, base_url, priority, credentials):
        from apps.catalog.providers import ProviderConfig

        return OfferingRoute(
            offering_id=priority,
            provider=ProviderConfig(adapter.default_slug, adapter.key, base_url, 200, credentials),
            adapter=adapter,
            priority=priority,
            weight=1,
            cost=Decimal("0.0010"),
        )

    route = MethodRoute(
        key="currency.latest_rates",
        spec=spec,
        policy=Policy(),
        offerings=(
            offering(fixer, hanging_url, 1, {"access_key": "fx"}),
            offering(oxr, OXR_URL, 2, {"app_id": "oxr"}),
        ),
    )
    context = CallContext(request_id="r1", method=route.key, client="acme", country="DE")

    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        second = router.get(f"{OXR_URL}/latest.json").respond(json=OXR_LATEST)

        # when
        with pytest.raises(CallFailed) as failed:
            await execute(route=route, payload={"base": "USD"}, context=context)

    # then the second provider was never called: the first may have acted
    assert not second.called
    assert [a.outcome for a in failed.value.attempts] == ["timeout"]
    assert failed.value.error.status == 502
    assert "unknown" in failed.value.decision["stopped"]
    assert failed.value.decision["outcome"] == "unknown"


async def test_a_refused_connection_still_fails_over_for_a_non_idempotent_method(refused_url):
    fixer = registry.adapters["currency.fixer"]
    oxr = registry.adapters["currency.openexchangerates"]
    spec = replace(registry.method("currency.latest_rates"), idempotent=False)
    from apps.catalog.providers import ProviderConfig

    route = MethodRoute(
        key="currency.latest_rates",
        spec=spec,
        policy=Policy(),
        offerings=tuple(
            OfferingRoute(
                offering_id=i,
                provider=ProviderConfig(a.default_slug, a.key, url, 500, creds),
                adapter=a,
                priority=i,
                weight=1,
                cost=Decimal("0"),
            )
            for i, (a, url, creds) in enumerate(
                [(fixer, refused_url, {"access_key": "fx"}), (oxr, OXR_URL, {"app_id": "o"})]
            )
        ),
    )
    context = CallContext(request_id="r2", method=route.key, client="acme", country="DE")

    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.get(f"{OXR_URL}/latest.json").respond(json=OXR_LATEST)
        outcome = await execute(route=route, payload={"base": "USD"}, context=context)

    assert outcome.offering.provider.slug == "openexchangerates"
    assert [a.outcome for a in outcome.attempts] == ["connection_error", "ok"]


async def test_an_adapter_bug_is_recorded_and_the_next_provider_serves(refused_url):
    # given the first adapter raises something no adapter should
    class Broken(registry.adapters["currency.sandbox"]):  # type: ignore[misc,valid-type]
        async def latest_rates(self, payload, context):
            raise OSError("disk on fire")

    Broken.provided_methods = {"latest_rates": "latest_rates"}
    sandbox = registry.adapters["currency.sandbox"]
    from apps.catalog.providers import ProviderConfig

    route = MethodRoute(
        key="currency.latest_rates",
        spec=registry.method("currency.latest_rates"),
        policy=Policy(),
        offerings=tuple(
            OfferingRoute(
                offering_id=i,
                provider=ProviderConfig(slug, "currency.sandbox", "sandbox://", 500, {}),
                adapter=adapter,
                priority=i,
                weight=1,
                cost=Decimal("0"),
            )
            for i, (slug, adapter) in enumerate([("broken", Broken), ("sandbox", sandbox)])
        ),
    )
    context = CallContext(request_id="r3", method=route.key, client="acme", country="DE")

    # when
    outcome = await execute(route=route, payload={"base": "EUR"}, context=context)

    # then
    assert outcome.offering.provider.slug == "sandbox"
    assert [(a.provider, a.outcome) for a in outcome.attempts] == [
        ("broken", "adapter_error"),
        ("sandbox", "ok"),
    ]
    # named by its class; its message stays in the log, never on the attempt
    assert outcome.attempts[0].error == "raised OSError"
