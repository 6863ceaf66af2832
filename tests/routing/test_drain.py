"""A provider that ops drained (or forced closed) stays so whatever happens to Redis.

Ops drain a provider for reasons no breaker can see (it answers 200 with wrong rates, its
invoices doubled), so the drain is kept on the offering in the database and reaches every
process with the catalog: a Redis that restarts empty, or is unreachable, does not bring the
drained provider back.
"""

import weakref

import pytest

from apps.catalog.models import Offering
from apps.core import state
from apps.ledger.models import LedgerEntry
from apps.routing import breakers
from apps.routing.services import offering_breaker_force
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.routing import FIXER_URL, offering_of, post

pytestmark = pytest.mark.django_db


def provider_of(response) -> str:
    assert response.status_code == 200, response.content
    return response["X-Provider"]


@pytest.fixture
def fixer_answers(vendors):
    return vendors.get(f"{FIXER_URL}/latest").respond(json=FIXER_LATEST)


def test_a_drain_survives_redis_restarting_empty(api, caller, two_providers, fixer_answers):
    # given ops drained fixer
    offering_breaker_force(offering_ids=[offering_of("fixer").pk], mode=breakers.FORCE_OPEN)
    assert provider_of(post(api, caller)) == "openexchangerates"

    # when Redis restarts without its data
    state.sync_client().flushdb()

    # then fixer is still skipped, and says why
    assert provider_of(post(api, caller)) == "openexchangerates"
    assert LedgerEntry.objects.order_by("-id").first().routing["skipped"] == [
        {"provider": "fixer", "reason": "forced_open"}
    ]
    assert not fixer_answers.called


def test_a_drain_holds_while_redis_is_unreachable(
    api, caller, two_providers, fixer_answers, settings, monkeypatch
):
    offering_breaker_force(offering_ids=[offering_of("fixer").pk], mode=breakers.FORCE_OPEN)

    # when Redis goes away (nothing listens where it was)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    monkeypatch.setattr(state, "_async_clients", weakref.WeakKeyDictionary())
    monkeypatch.setattr(state, "_sync_client", None)

    # then each process's own fallback still skips the drained provider
    assert provider_of(post(api, caller)) == "openexchangerates"
    assert provider_of(post(api, caller)) == "openexchangerates"
    assert not fixer_answers.called


def test_back_to_automatic_starts_from_a_clean_slate(api, caller, two_providers, vendors, clock):
    # given fixer's breaker opened on faults, then ops forced it closed
    fixer = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    for _ in range(3):
        post(api, caller)
    offering_id = offering_of("fixer").pk
    offering_breaker_force(offering_ids=[offering_id], mode=breakers.FORCE_CLOSED)
    assert provider_of(post(api, caller)) == "openexchangerates"
    assert fixer.call_count == 4  # forced closed: tried despite its open breaker

    # when ops set it back to automatic and fixer has recovered
    offering_breaker_force(offering_ids=[offering_id], mode=breakers.AUTOMATIC)
    fixer.respond(json=FIXER_LATEST)

    # then it is tried at once: its faults were forgotten with the forcing
    assert provider_of(post(api, caller)) == "fixer"
    assert Offering.objects.get(pk=offering_id).breaker_forced == ""
