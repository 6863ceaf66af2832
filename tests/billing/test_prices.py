"""What a call costs the client: the plan's price, its price for the requester's country, or
a negotiated price; never what the provider costs us."""

import json
import time
from decimal import Decimal

import jwt
import pytest
import respx

from apps.billing.models import ClientPrice, CountryPrice, Price
from apps.catalog.models import Offering, Provider
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.integrations.currency.vendor_answers import FIXER_LATEST, OXR_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"

pytestmark = pytest.mark.django_db


def post(api, headers, url=LATEST, body=None):
    payload = json.dumps(body if body is not None else {"base": "EUR"})
    return api.post(url, payload, content_type="application/json", headers=headers)


def internal_headers(settings, country: str) -> dict[str, str]:
    token = jwt.encode(
        {"entity_id": "acme", "exp": int(time.time()) + 60},
        settings.INTERNAL_GATEWAY_KEY,
        algorithm="HS256",
    )
    return {"Authorization": f"Bearer {token}", "X-Requester-Country": country}


def test_a_country_price_applies_to_requesters_in_that_country(api, caller, sandbox_only, settings):
    # given the plan charges 0.0100, but 0.0080 in Germany and 0.0150 in Norway
    base = Price.objects.get(plan=caller.client.plan, method__slug="latest_rates")
    CountryPrice.objects.create(base=base, country="DE", price=Decimal("0.0080"))
    CountryPrice.objects.create(base=base, country="NO", price=Decimal("0.0150"))

    # when acme (in Germany) calls, and an internal service calls for customers elsewhere
    own = post(api, caller.headers)
    norway = post(api, internal_headers(settings, "NO"))
    france = post(api, internal_headers(settings, "FR"))

    # then
    assert [r["X-Price"] for r in (own, norway, france)] == ["0.0080", "0.0150", "0.0100"]
    assert list(LedgerEntry.objects.order_by("id").values_list("country", "price")) == [
        ("DE", Decimal("0.0080")),
        ("NO", Decimal("0.0150")),
        ("FR", Decimal("0.0100")),
    ]


def test_a_negotiated_price_wins_over_the_plan_and_the_country(api, caller, sandbox_only):
    # given a country price and acme's own deal
    base = Price.objects.get(plan=caller.client.plan, method__slug="latest_rates")
    CountryPrice.objects.create(base=base, country="DE", price=Decimal("0.0080"))
    ClientPrice.objects.create(client=caller.client, method=base.method, price=Decimal("0.0045"))
    other = factories.ClientFactory(slug="globex", plan=caller.client.plan, country="DE")

    # when both clients call
    acme = post(api, caller.headers)
    globex = post(api, {"Authorization": f"Api-Key {factories.api_key_for(other)}"})

    # then
    assert (acme["X-Price"], globex["X-Price"]) == ("0.0045", "0.0080")


def test_a_negotiated_price_opens_a_method_the_plan_lacks(api, caller, sandbox_only):
    # given acme's plan does not include convert, but acme has a deal for it
    Price.objects.filter(plan=caller.client.plan, method__slug="convert").delete()
    ClientPrice.objects.create(
        client=caller.client, method=factories.method("currency.convert"), price=Decimal("0.02")
    )

    # when
    response = post(api, caller.headers, CONVERT, {"from": "EUR", "to": "USD", "amount": "1"})

    # then
    assert response.status_code == 200
    assert response["X-Price"] == "0.0200"


def test_the_price_is_the_same_whichever_provider_serves(api, caller, fixer_only):
    # given fixer (costs us 0.0010) fails over to Open Exchange Rates (costs us 0.0030)
    oxr = Provider.objects.get(slug="openexchangerates")
    oxr.base_url, oxr.credentials, oxr.enabled = "https://oxr.test/api", {"app_id": "a"}, True
    oxr.save()
    Offering.objects.filter(provider=oxr).update(priority=2, cost=Decimal("0.0030"))
    with respx.mock(assert_all_called=False) as vendors:
        fixer = vendors.get("https://fixer.test/api/latest").respond(json=FIXER_LATEST)
        vendors.get("https://oxr.test/api/latest.json").respond(json=OXR_LATEST)

        # when one call is served by fixer, and the next by OXR after fixer failed
        first = post(api, caller.headers, body={"base": "USD"})
        fixer.respond(status_code=500)
        second = post(api, caller.headers, body={"base": "USD"})

    # then the cost follows the provider, the price does not
    assert (first["X-Provider"], second["X-Provider"]) == ("fixer", "openexchangerates")
    assert first["X-Price"] == second["X-Price"] == "0.0100"
    rows = list(LedgerEntry.objects.order_by("id").values_list("provider", "cost", "price"))
    assert rows == [
        ("fixer", Decimal("0.0010"), Decimal("0.0100")),
        ("openexchangerates", Decimal("0.0030"), Decimal("0.0100")),
    ]
