"""Which registrar serves: the cheapest for a new domain, the holder for one already bought
(get, renew, set_dns are pinned to it: down means 503, never another registrar)."""

import json
from decimal import Decimal

import pytest

from apps.catalog.models import Offering, Provider
from apps.catalog.services import catalog_cache_invalidate
from apps.integrations.domains.models import Domain, RegistrantAccount
from apps.ledger.models import LedgerEntry
from tests.integrations.domains import godaddy_answers as gd
from tests.integrations.domains.conftest import SHOPPER
from tests.integrations.domains.namecheap_answers import CREDENTIALS as NAMECHEAP_CREDENTIALS
from tests.support.calls import configure, only_providers, post

pytestmark = pytest.mark.django_db

SERVICE = "/api/v1/services/domains"
NAMECHEAP_URL = "https://namecheap.test/xml.response"


@pytest.fixture
def godaddy_and_sandbox(db):
    """GoDaddy beside the offline sandbox registrar (.com at 9.99 USD)."""
    only_providers("godaddy", "domains-sandbox")
    configure("godaddy", base_url=gd.GODADDY_URL, credentials=gd.CREDENTIALS)
    configure("domains-sandbox", base_url="sandbox://registrar", credentials={})


@pytest.fixture
def held_at_godaddy(buyer, godaddy_and_sandbox):
    RegistrantAccount.objects.create(client=buyer.client, provider="godaddy", account=SHOPPER)
    return Domain.objects.create(client=buyer.client, name=gd.DOMAIN, provider="godaddy")


@pytest.mark.parametrize(
    ("godaddy_micro", "winner", "price"),
    [(8990000, "godaddy", "8.99"), (11990000, "domains-sandbox", "9.99")],
)
def test_the_cheapest_available_registrar_is_chosen(
    api, buyer, godaddy_and_sandbox, vendors, godaddy_micro, winner, price
):
    vendors.get(f"{gd.GODADDY_URL}/v1/domains/available").respond(
        200, json=gd.available(godaddy_micro)
    )

    response = post(api, f"{SERVICE}/check_availability/", {"domain": gd.DOMAIN}, buyer)

    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["provider"], data["price"], response["X-Provider"]) == (winner, price, winner)
    entry = LedgerEntry.objects.get()
    assert {a["provider"] for a in entry.attempts} == {"godaddy", "domains-sandbox"}


def test_an_intention_goes_to_the_cheapest_and_nowhere_available_is_422(
    api, buyer, godaddy_and_sandbox, vendors
):
    vendors.get(f"{gd.GODADDY_URL}/v1/domains/available").respond(
        200, json=gd.taken("taken-name.com")
    )

    nowhere = post(
        api, f"{SERVICE}/create_registration_intention/", {"domain": "taken-name.com"}, buyer
    )
    check = post(api, f"{SERVICE}/check_availability/", {"domain": "taken-name.com"}, buyer)

    assert nowhere.status_code == 422, nowhere.content
    assert nowhere.json()["errors"] == {"domain": ["The domain is not available."]}
    assert check.status_code == 200
    assert check.json()["data"] == {
        "domain": "taken-name.com",
        "available": False,
        "price": None,
        "currency": None,
        "provider": None,
    }


def test_a_bad_domain_name_is_400_naming_the_field(api, buyer, godaddy_and_sandbox, vendors):
    response = post(api, f"{SERVICE}/check_availability/", {"domain": "-bad-.com"}, buyer)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["domain"]
    assert not vendors.calls


def test_get_renew_and_set_dns_go_to_the_holding_registrar(api, buyer, held_at_godaddy, vendors):
    vendors.get(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}").respond(200, json=gd.DOMAIN_DETAIL)
    vendors.post(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}/renew").respond(200, json=gd.RENEWED)
    put_mx = vendors.put(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}/records/MX").respond(200)
    mx = {"type": "MX", "name": "@", "data": "mail.example.org", "priority": 10}

    got = post(api, f"{SERVICE}/get/", {"domain": gd.DOMAIN}, buyer)
    renewed = post(api, f"{SERVICE}/renew/", {"domain": gd.DOMAIN, "period": 2}, buyer)
    dns = post(api, f"{SERVICE}/set_dns/", {"domain": gd.DOMAIN, "records": [mx]}, buyer)

    assert got.status_code == 200, got.content
    assert got.json()["data"] == {
        "domain": gd.DOMAIN,
        "provider": "godaddy",
        "status": "ACTIVE",
        "expires_at": "2027-11-29T16:30:00.000Z",
        "renew_auto": False,
        "nameservers": ["ns61.domaincontrol.com", "ns62.domaincontrol.com"],
    }
    held_at_godaddy.refresh_from_db()
    assert held_at_godaddy.expires_at.isoformat() == "2027-11-29T16:30:00+00:00"
    assert renewed.status_code == 200, renewed.content
    assert renewed.json()["data"] == {
        "domain": gd.DOMAIN,
        "provider": "godaddy",
        "order_id": "1480923800",
        "total": "23.98",
        "currency": "USD",
    }
    assert dns.status_code == 200, dns.content
    assert json.loads(put_mx.calls.last.request.content) == [
        {"name": "@", "data": "mail.example.org", "ttl": 3600, "priority": 10}
    ]
    assert all(c.request.headers["X-Shopper-Id"] == "583010277" for c in vendors.calls)
    renew_body = json.loads(vendors.calls[1].request.content)
    assert renew_body == {"period": 2}
    providers = set(LedgerEntry.objects.values_list("provider", flat=True))
    assert providers == {"godaddy"}


@pytest.mark.parametrize("how", ["disabled", "drained"])
def test_the_holding_registrar_down_is_503_and_no_other_is_asked(
    api, buyer, held_at_godaddy, vendors, how
):
    # given GoDaddy holds the domain, and Namecheap (also selling it) is healthy
    configure("namecheap", base_url=NAMECHEAP_URL, credentials=NAMECHEAP_CREDENTIALS)
    if how == "disabled":
        Provider.objects.filter(slug="godaddy").update(enabled=False)
    else:
        Offering.objects.filter(provider__slug="godaddy").update(
            breaker_forced=Offering.BreakerForced.OPEN
        )
    catalog_cache_invalidate()

    for method, body in (
        ("get", {"domain": gd.DOMAIN}),
        ("renew", {"domain": gd.DOMAIN}),
        (
            "set_dns",
            {"domain": gd.DOMAIN, "records": [{"type": "A", "name": "@", "data": "192.0.2.1"}]},
        ),
    ):
        response = post(api, f"{SERVICE}/{method}/", body, buyer)
        assert response.status_code == 503, (method, response.content)

    assert not vendors.calls  # neither GoDaddy nor Namecheap nor anyone
    assert set(LedgerEntry.objects.values_list("provider", "price")) == {("", Decimal("0"))}


def test_a_domain_the_client_does_not_hold_is_404(api, buyer, held_at_godaddy, vendors):
    response = post(api, f"{SERVICE}/get/", {"domain": "someone-elses.com"}, buyer)

    assert response.status_code == 404
    assert response.json()["errors"] == {"domain": ["Not one of your domains."]}
    assert not vendors.calls
