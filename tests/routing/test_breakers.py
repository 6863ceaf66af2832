"""Circuit breakers through the real endpoint: open, skip, half-open, close; all open is 503.

fixer is tried first, Open Exchange Rates second; vendors answer at the HTTP level in their
documented formats (respx), refused and hanging connections are real sockets. Time moves by
the test's clock, never by sleeping.
"""

from decimal import Decimal

import httpx
import pytest

from apps.catalog.models import Offering
from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord
from apps.routing.routes import BreakerPolicy
from apps.routing.services import offering_breaker_force
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.routing import FIXER_URL, OXR_URL, configure, post, route_of

pytestmark = pytest.mark.django_db


def served(response) -> tuple[int, str]:
    return response.status_code, response.headers.get("X-Provider", "")


def last_entry() -> LedgerEntry:
    return LedgerEntry.objects.order_by("-id").first()


def test_the_breaker_opens_after_consecutive_faults_and_the_provider_is_skipped(
    api, caller, two_providers, vendors, clock
):
    # given fixer fails every call; its breaker opens after 3 faults in a row
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)

    # when
    first_three = [served(post(api, caller)) for _ in range(3)]
    fourth = post(api, caller)

    # then every call was served; the fourth did not even try fixer
    assert first_three == [(200, "openexchangerates")] * 3
    assert served(fourth) == (200, "openexchangerates")
    assert fixer.call_count == 3
    entry = last_entry()
    assert [a["provider"] for a in entry.attempts] == ["openexchangerates"]
    assert entry.routing["skipped"] == [{"provider": "fixer", "reason": "circuit_open"}]


def test_after_the_cooldown_one_probe_is_let_through_and_success_closes_the_breaker(
    api, caller, two_providers, vendors, clock
):
    # given fixer's breaker is open
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.respond(status_code=500)
    for _ in range(3):
        post(api, caller)
    clock.advance(29)
    assert served(post(api, caller)) == (200, "openexchangerates")  # still open

    # when the cooldown has passed and fixer has recovered
    clock.advance(1)
    fixer.respond(json=FIXER_LATEST)
    probe = post(api, caller)

    # then the probe call went to fixer, and fixer serves again from then on
    assert served(probe) == (200, "fixer")
    assert served(post(api, caller)) == (200, "fixer")
    assert fixer.call_count == 5
    assert last_entry().routing["skipped"] == []


async def test_while_a_probe_is_in_flight_other_calls_skip_the_half_open_provider(clock):
    # given an open breaker whose cooldown has passed
    fixer = route_of("fixer", offering_id=7, breaker=BreakerPolicy(failures=3, cooldown_s=30))
    await breakers.route_end([AttemptRecord(fixer, breakers.FAULT, "http_error")] * 3)
    clock.advance(30)

    # when two calls begin at once
    first = await breakers.route_begin([fixer], method="currency.latest_rates")
    second = await breakers.route_begin([fixer], method="currency.latest_rates")

    # then only the first may probe; a lease the call did not use goes back at once
    assert (first.of(fixer).status, second.of(fixer).status) == ("probe", "probe_in_flight")
    await breakers.route_end([AttemptRecord(fixer, breakers.RELEASE, probe=True)])
    third = await breakers.route_begin([fixer], method="currency.latest_rates")
    assert third.of(fixer).status == "probe"


def test_a_failed_probe_opens_the_breaker_for_another_cooldown(
    api, caller, two_providers, vendors, clock
):
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(status_code=503)
    for _ in range(3):
        post(api, caller)
    clock.advance(30)

    probe = post(api, caller)  # fixer tried once more, fails, oxr serves
    clock.advance(29)
    during_new_cooldown = post(api, caller)

    assert served(probe) == served(during_new_cooldown) == (200, "openexchangerates")
    assert fixer.call_count == 4
    assert last_entry().routing["skipped"] == [{"provider": "fixer", "reason": "circuit_open"}]


def test_a_fault_rate_over_the_window_opens_the_breaker(api, caller, two_providers, vendors, clock):
    # given fixer fails every other call: never 3 in a row, but half of them
    configure("fixer", breaker_fault_rate=50, breaker_min_calls=6, breaker_window_s=60)
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.mock(side_effect=[httpx.Response(500), httpx.Response(200, json=FIXER_LATEST)] * 3)

    # when six calls are made within the window
    providers = [served(post(api, caller))[1] for _ in range(6)]

    # then the sixth call completed the rate, and the seventh skips fixer
    assert providers == ["openexchangerates", "fixer"] * 3
    assert served(post(api, caller)) == (200, "openexchangerates")
    assert fixer.call_count == 6


def test_faults_older_than_the_window_do_not_count(api, caller, two_providers, vendors, clock):
    configure(
        "fixer",
        breaker_failures=100,
        breaker_fault_rate=50,
        breaker_min_calls=4,
        breaker_window_s=60,
    )
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.mock(side_effect=[httpx.Response(500)] * 2 + [httpx.Response(200, json=FIXER_LATEST)] * 8)
    post(api, caller)
    post(api, caller)
    clock.advance(120)

    providers = [served(post(api, caller))[1] for _ in range(4)]

    assert providers == ["fixer"] * 4


@pytest.mark.parametrize(
    "fault",
    ["refused", "hang", "500", "garbage"],
)
def test_every_kind_of_provider_fault_counts_towards_the_breaker(
    api, caller, two_providers, vendors, clock, fault, refused_url, hanging_url
):
    # given fixer's breaker opens on the first fault
    configure("fixer", breaker_failures=1, timeout_ms=200)
    if fault == "refused":
        configure("fixer", base_url=refused_url)
    elif fault == "hang":
        configure("fixer", base_url=hanging_url)
    elif fault == "500":
        vendors.get(f"{FIXER_URL}/latest").respond(status_code=500, text="Internal Server Error")
    else:
        vendors.get(f"{FIXER_URL}/latest").respond(text="<html>upstream proxy error</html>")

    # when
    first, second = post(api, caller), post(api, caller)

    # then
    assert served(first) == served(second) == (200, "openexchangerates")
    assert last_entry().routing["skipped"] == [{"provider": "fixer", "reason": "circuit_open"}]
    fixer = Offering.objects.get(provider__slug="fixer", method__slug="latest_rates")
    (view,) = breakers.breaker_views([(fixer.pk, BreakerPolicy(failures=1))]).values()
    assert (view.state, view.consecutive_faults, view.faults_in_window) == ("open", 1, 1)
    assert view.last_error


def test_a_429_with_retry_after_cools_the_provider_down_for_that_long(
    api, caller, two_providers, vendors, clock
):
    # given fixer answers 429 Too Many Requests, come back in 120 s
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.respond(status_code=429, headers={"Retry-After": "120"})
    assert served(post(api, caller)) == (200, "openexchangerates")

    # then it is skipped for 120 s (longer than its breaker's cooldown), then tried again
    clock.advance(119)
    assert served(post(api, caller)) == (200, "openexchangerates")
    assert last_entry().routing["skipped"] == [{"provider": "fixer", "reason": "cooling_down"}]
    clock.advance(1)
    fixer.respond(json=FIXER_LATEST)
    assert served(post(api, caller)) == (200, "fixer")
    assert fixer.call_count == 2


def test_when_every_candidate_is_open_the_client_gets_503_with_retry_after(
    api, caller, two_providers, vendors, clock
):
    # given both providers' breakers open on one fault
    configure("fixer", breaker_failures=1, breaker_cooldown_s=30)
    configure("openexchangerates", breaker_failures=1, breaker_cooldown_s=60)
    vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    vendors.get(f"{OXR_URL}/latest.json").respond(status_code=502)
    assert post(api, caller).status_code == 502

    # when
    clock.advance(10)
    response = post(api, caller)

    # then
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "20"  # fixer's breaker half-opens first
    problem = response.json()
    assert problem["type"] == "/problems/no-provider-available"
    assert "attempts" not in problem
    entry = last_entry()
    assert (entry.status, entry.http_status, entry.price) == ("failed", 503, Decimal("0"))
    assert entry.routing["skipped"] == [
        {"provider": "fixer", "reason": "circuit_open"},
        {"provider": "openexchangerates", "reason": "circuit_open"},
    ]


def test_ops_can_drain_a_provider_and_force_one_closed(api, caller, two_providers, vendors, clock):
    fixer_route = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    fixer = Offering.objects.get(provider__slug="fixer", method__slug="latest_rates")
    oxr = Offering.objects.get(provider__slug="openexchangerates", method__slug="latest_rates")

    # forced closed: fixer is tried on every call, however often it fails
    offering_breaker_force(offering_ids=[fixer.pk], mode=breakers.FORCE_CLOSED)
    for _ in range(5):
        assert served(post(api, caller)) == (200, "openexchangerates")
    assert fixer_route.call_count == 5

    # forced open (drained): never tried; with the other drained too, 503
    offering_breaker_force(offering_ids=[fixer.pk, oxr.pk], mode=breakers.FORCE_OPEN)
    response = post(api, caller)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert fixer_route.call_count == 5

    # back to automatic, with a clean slate
    offering_breaker_force(offering_ids=[fixer.pk, oxr.pk], mode=breakers.AUTOMATIC)
    fixer_route.respond(json=FIXER_LATEST)
    assert served(post(api, caller)) == (200, "fixer")
