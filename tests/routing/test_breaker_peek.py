"""The breakers read with admission's versions (apps.routing.breaker_peek): used when they are
enough, and the script runs whenever they are not (a probe due, a stale peek, a new offering).

fixer is tried first, Open Exchange Rates second (tests/routing/conftest.py).
"""

import pytest

from apps.catalog.models import Offering
from apps.routing import breaker_peek
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.routing import FIXER_URL, post

pytestmark = pytest.mark.django_db

READ = ("MGET", "HMGET", "HMGET")  # the versions, and the breakers of fixer and oxr
SCRIPT = ("EVALSHA",)


def test_a_probe_due_is_taken_by_the_script_so_that_one_call_probes(
    api, caller, two_providers, vendors, clock, redis_round_trips
):
    # given fixer's breaker is open and its cooldown has just passed
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    for _ in range(3):
        post(api, caller)
    clock.advance(30)
    fixer.respond(json=FIXER_LATEST)
    redis_round_trips.clear()

    # when
    probe = post(api, caller)

    # then the read found the probe due, and the begin script took its lease
    assert probe.headers["X-Provider"] == "fixer"
    assert redis_round_trips == [READ, SCRIPT, SCRIPT]


def test_a_call_refused_in_admission_takes_no_probe_lease(
    api, caller, two_providers, vendors, clock
):
    # given fixer's breaker is open and its cooldown has just passed
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    for _ in range(3):
        post(api, caller)
    clock.advance(30)
    fixer.respond(json=FIXER_LATEST)

    # when a call is refused for its payload after admission read the breakers
    assert post(api, caller, payload=[1, 2]).status_code == 400

    # then the next call is the probe (no lease was left in flight by the refused one)
    assert post(api, caller).headers["X-Provider"] == "fixer"


def test_a_peek_older_than_its_limit_is_read_again_by_the_script(
    api, caller, two_providers, vendors, redis_round_trips, monkeypatch
):
    # given a warm gateway, and admissions slower than the peek may be old
    vendors.get(f"{FIXER_URL}/latest").respond(json=FIXER_LATEST)
    post(api, caller)
    monkeypatch.setattr(breaker_peek, "PEEK_MAX_AGE_S", -1.0)
    redis_round_trips.clear()

    # when
    assert post(api, caller).headers["X-Provider"] == "fixer"

    # then
    assert redis_round_trips == [READ, SCRIPT, SCRIPT]


def test_an_offering_the_process_did_not_know_is_read_by_the_script(
    api, caller, two_providers, vendors, redis_round_trips
):
    # given a warm gateway, then oxr's offering disabled and enabled again (a catalog change
    # this process's snapshot learns of only from the versions the peek comes with)
    vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    post(api, caller)
    offering = Offering.objects.get(provider__slug="openexchangerates", method__slug="latest_rates")
    offering.enabled = False
    offering.save()
    post(api, caller)
    offering.enabled = True
    offering.save()
    redis_round_trips.clear()

    # when
    served = post(api, caller)

    # then the peek (fixer's breaker only) was not enough: the script read both
    assert served.headers["X-Provider"] == "openexchangerates"
    assert redis_round_trips == [("MGET", "HMGET"), SCRIPT, SCRIPT]
