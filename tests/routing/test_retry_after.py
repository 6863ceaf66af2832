"""A provider's Retry-After is the vendor's word, so it is read defensively: a value that is
not a finite number is ignored (the 429 is then an ordinary fault), and a very long one is
capped, so that one bad header cannot take a provider out of rotation for days or break the
shared state the breakers live in."""

import logging

import pytest

from apps.core import state
from apps.routing import breakers
from apps.routing.breaker_rules import MAX_COOLDOWN_S
from apps.routing.routes import BreakerPolicy
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.routing import FIXER_URL, offering_of, post

pytestmark = pytest.mark.django_db


def provider_of(response) -> str:
    assert response.status_code == 200, response.content
    return response["X-Provider"]


@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "-5", "soon"])
def test_a_retry_after_that_is_not_a_usable_number_is_an_ordinary_fault(
    api, caller, two_providers, vendors, clock, caplog, value
):
    # given fixer answers 429 with a Retry-After no clock can wait for
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.respond(status_code=429, headers={"Retry-After": value})

    # when
    with caplog.at_level(logging.WARNING, logger="apps.core.state"):
        first = post(api, caller)

    # then the call is served by the next provider, the shared state is untouched by it,
    assert provider_of(first) == "openexchangerates"
    assert "Redis unreachable" not in caplog.text
    assert not state.redis_degraded()
    # and fixer is not cooling down: the very next call tries it again
    fixer.respond(json=FIXER_LATEST)
    assert provider_of(post(api, caller)) == "fixer"


def test_a_very_long_retry_after_is_capped(api, caller, two_providers, vendors, clock):
    # given fixer asks to be left alone for ten days
    fixer = vendors.get(f"{FIXER_URL}/latest")
    fixer.respond(status_code=429, headers={"Retry-After": str(10 * 86_400)})
    assert provider_of(post(api, caller)) == "openexchangerates"

    # then it cools down for the cap, not ten days
    clock.advance(MAX_COOLDOWN_S - 1)
    assert provider_of(post(api, caller)) == "openexchangerates"
    clock.advance(1)
    fixer.respond(json=FIXER_LATEST)
    assert provider_of(post(api, caller)) == "fixer"
    (view,) = breakers.breaker_views([(offering_of("fixer").pk, BreakerPolicy())]).values()
    assert view.state == "closed"
