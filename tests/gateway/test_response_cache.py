"""The response cache: cacheable methods with a TTL answer from it, each hit charged at the
client's price and recorded with cost 0."""

import json
from decimal import Decimal

import pytest

from apps.accounts.models import Client
from apps.billing.models import ClientPrice
from apps.catalog.models import RoutingPolicy
from apps.core import state
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.integrations.currency.vendor_answers import FIXER_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db


def post(api, headers, body):
    payload = body if isinstance(body, str) else json.dumps(body)
    return api.post(LATEST, payload, content_type="application/json", headers=headers)


@pytest.fixture
def cached_for_a_minute(db):
    policy = RoutingPolicy.objects.get(method__slug="latest_rates")
    policy.cache_ttl_s = 60
    policy.save()


def test_a_hit_is_charged_at_the_price_with_cost_zero(api, caller, fixer, cached_for_a_minute):
    # when the same rates are asked for twice (keys in another order the second time)
    miss = post(api, caller.headers, {"base": "EUR", "symbols": ["USD", "GBP"]})
    hit = post(api, caller.headers, '{"symbols": ["USD", "GBP"], "base": "EUR"}')

    # then the second answer came from the cache, not from fixer, and cost the same
    assert (miss.status_code, hit.status_code) == (200, 200)
    assert (miss["X-Cache"], hit["X-Cache"]) == ("MISS", "HIT")
    assert hit.json()["data"] == miss.json()["data"]
    assert hit.json()["request_id"] != miss.json()["request_id"]
    assert (hit["X-Price"], hit["X-Provider"]) == ("0.0100", "fixer")
    assert fixer.call_count == 1
    rows = list(
        LedgerEntry.objects.order_by("id").values_list("cached", "provider", "cost", "price")
    )
    assert rows == [
        (False, "fixer", Decimal("0.0010"), Decimal("0.0100")),
        (True, "", Decimal("0"), Decimal("0.0100")),
    ]
    hit_row = LedgerEntry.objects.get(cached=True)
    assert (hit_row.routing["cache"], hit_row.routing["origin"]) == ("hit", "fixer")
    assert Client.objects.get(pk=caller.client.pk).balance == Decimal("-0.0200")


def test_another_payload_is_a_miss(api, caller, fixer, cached_for_a_minute):
    post(api, caller.headers, {"base": "EUR"})

    response = post(api, caller.headers, {"base": "GBP"})

    assert response["X-Cache"] == "MISS"
    assert fixer.call_count == 2


def test_every_client_shares_the_cache_at_its_own_price(api, caller, fixer, cached_for_a_minute):
    # given globex negotiated a lower price
    globex = factories.ClientFactory(slug="globex", plan=caller.client.plan)
    ClientPrice.objects.create(
        client=globex, method=factories.method("currency.latest_rates"), price=Decimal("0.0040")
    )
    post(api, caller.headers, {"base": "USD"})

    # when globex asks for the same rates (USD is the method's default base)
    response = post(api, {"Authorization": f"Api-Key {factories.api_key_for(globex)}"}, {})

    # then it gets acme's cached answer, at its own price
    assert (response["X-Cache"], response["X-Price"]) == ("HIT", "0.0040")
    assert fixer.call_count == 1


def test_an_answer_is_kept_for_the_methods_ttl(api, caller, fixer, cached_for_a_minute):
    post(api, caller.headers, {"base": "EUR"})

    (key,) = state.sync_client().keys("gw:cache:currency.latest_rates:*")
    assert 0 < state.sync_client().ttl(key) <= 60


def test_a_failed_call_is_not_cached(api, caller, fixer, cached_for_a_minute):
    fixer.respond(status_code=500)
    assert post(api, caller.headers, {"base": "EUR"}).status_code == 502

    fixer.respond(json=FIXER_LATEST)
    response = post(api, caller.headers, {"base": "EUR"})

    assert (response.status_code, response["X-Cache"]) == (200, "MISS")


def test_without_a_ttl_nothing_is_cached(api, caller, fixer):
    first = post(api, caller.headers, {"base": "EUR"})
    second = post(api, caller.headers, {"base": "EUR"})

    assert "X-Cache" not in first and "X-Cache" not in second
    assert fixer.call_count == 2
