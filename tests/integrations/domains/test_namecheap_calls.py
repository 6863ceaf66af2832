"""Namecheap through the real endpoint: chosen when cheapest, pinned for the domains it holds."""

import json

import pytest

from apps.integrations.domains.models import Domain, Purchase, RegistrantAccount
from apps.ledger.models import LedgerEntry
from tests.integrations.domains import godaddy_answers as gd
from tests.integrations.domains import namecheap_answers as nc
from tests.integrations.domains.conftest import CONTACT, OPERATOR, PRICES
from tests.integrations.domains.namecheap_fake import FakeNamecheap
from tests.support.calls import configure, only_providers, paying_client, post
from tests.support.servers import refused_url

pytestmark = pytest.mark.django_db

NAMECHEAP_URL = "https://namecheap.test/xml.response"
GODADDY_URL = "https://godaddy.test"
SERVICE = "/api/v1/services/domains"


@pytest.fixture
def registrars(db):
    only_providers("namecheap", "godaddy")
    configure("namecheap", base_url=NAMECHEAP_URL, credentials=nc.CREDENTIALS)
    configure("godaddy", base_url=GODADDY_URL, credentials={"api_key": "gd", "api_secret": "gs"})


@pytest.fixture
def client_of_domains(db):
    return paying_client(
        ("domains.check_availability", "0.0100"),
        ("domains.get", "0.0100"),
        ("domains.set_dns", "0.0500"),
    )


@pytest.fixture
def fake(vendors):
    return FakeNamecheap(vendors, NAMECHEAP_URL)


@pytest.fixture
def godaddy_available(vendors):
    """GoDaddy's GET /v1/domains/available: 11.99 USD a year (prices in micro-units)."""
    return vendors.get(f"{GODADDY_URL}/v1/domains/available").respond(
        200,
        json={
            "available": True,
            "domain": "lovelace-engines.com",
            "definitive": True,
            "price": 11990000,
            "currency": "USD",
            "period": 1,
        },
    )


def holds(caller, name):
    return Domain.objects.create(client=caller.client, name=name, provider="namecheap")


def test_namecheap_wins_the_availability_check_when_cheaper(
    api, client_of_domains, registrars, fake, godaddy_available
):
    # given: 9.06 at Namecheap, 11.99 at GoDaddy
    fake.on("namecheap.domains.check", nc.check("lovelace-engines.com", available=True))
    fake.on("namecheap.users.getPricing", nc.pricing("com", "8.88"))

    # when
    response = post(
        api,
        f"{SERVICE}/check_availability/",
        {"domain": "Lovelace-Engines.com"},
        client_of_domains,
    )

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "domain": "lovelace-engines.com",
        "available": True,
        "price": "9.06",
        "currency": "USD",
        "provider": "namecheap",
    }
    assert godaddy_available.called
    entry = LedgerEntry.objects.get()
    assert (entry.provider, entry.status) == ("namecheap", "succeeded")
    row = json.dumps({f.name: str(getattr(entry, f.name)) for f in entry._meta.fields})
    assert nc.CREDENTIALS["api_key"] not in row


def test_get_is_pinned_to_namecheap_which_holds_the_domain(
    api, client_of_domains, registrars, fake, vendors
):
    # given
    holds(client_of_domains, "lovelace-engines.com")
    godaddy = vendors.route(host="godaddy.test")
    fake.on("namecheap.domains.getInfo", nc.info("lovelace-engines.com"))

    # when
    response = post(api, f"{SERVICE}/get/", {"domain": "lovelace-engines.com"}, client_of_domains)

    # then
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["provider"], data["status"], data["nameservers"]) == (
        "namecheap",
        "ACTIVE",
        ["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
    )
    assert data["expires_at"].startswith("2027-09-05T00:00:00")
    assert not godaddy.called
    assert Domain.objects.get().expires_at.date().isoformat() == "2027-09-05"


def test_set_dns_at_namecheap_through_the_endpoint(api, client_of_domains, registrars, fake):
    holds(client_of_domains, "lovelace-engines.com")
    fake.on("namecheap.domains.dns.getHosts", nc.hosts("lovelace-engines.com"))
    fake.on("namecheap.domains.dns.setHosts", nc.hosts_set("lovelace-engines.com"))
    records = [{"type": "TXT", "name": "@", "data": "v=spf1 -all", "ttl": 3600}]

    response = post(
        api,
        f"{SERVICE}/set_dns/",
        {"domain": "lovelace-engines.com", "records": records},
        client_of_domains,
    )

    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "domain": "lovelace-engines.com",
        "provider": "namecheap",
        "records": records,
    }
    form = fake.sent("namecheap.domains.dns.setHosts")[2]
    assert [form[f"RecordType{n}"] for n in (1, 2, 3, 4)] == ["A", "CNAME", "URL", "TXT"]


def test_namecheap_unreachable_fails_the_call_without_trying_godaddy(
    api, client_of_domains, registrars, vendors
):
    holds(client_of_domains, "lovelace-engines.com")
    configure("namecheap", base_url=refused_url(), credentials=nc.CREDENTIALS)
    godaddy = vendors.route(host="godaddy.test")

    response = post(api, f"{SERVICE}/get/", {"domain": "lovelace-engines.com"}, client_of_domains)

    assert response.status_code == 502, response.content
    assert [a["provider"] for a in response.json()["attempts"]] == ["namecheap"]
    assert not godaddy.called


def test_namecheap_disabled_is_503_for_its_domains(api, client_of_domains, registrars, vendors):
    holds(client_of_domains, "lovelace-engines.com")
    only_providers("godaddy")
    godaddy = vendors.route(host="godaddy.test")

    response = post(api, f"{SERVICE}/get/", {"domain": "lovelace-engines.com"}, client_of_domains)

    assert response.status_code == 503, response.content
    assert not godaddy.called


def test_a_refused_record_is_422_naming_it(api, client_of_domains, registrars, fake):
    holds(client_of_domains, "lovelace-engines.com")
    fake.on("namecheap.domains.dns.getHosts", nc.hosts("lovelace-engines.com"))
    srv = {"type": "SRV", "name": "_sip._tcp", "data": "5 5060 sip.example.net", "priority": 10}

    response = post(
        api,
        f"{SERVICE}/set_dns/",
        {"domain": "lovelace-engines.com", "records": [srv]},
        client_of_domains,
    )

    assert response.status_code == 422, response.content
    assert list(response.json()["errors"]) == ["records.0.type"]
    assert "namecheap.domains.dns.setHosts" not in fake.commands()


def test_intention_submit_and_initial_dns_at_namecheap(
    api, registrars, fake, vendors, godaddy_available, settings, django_capture_on_commit_callbacks
):
    # given: Namecheap cheaper than GoDaddy; the new domain's zone missing at the first try
    settings.DOMAINS_OPERATOR_CONTACT = OPERATOR
    buyer = paying_client(*PRICES.items())
    vendors.get(f"{GODADDY_URL}/v1/domains/agreements").respond(200, json=gd.AGREEMENTS)
    fake.on("namecheap.domains.check", nc.check("lovelace-engines.com", available=True))
    fake.on("namecheap.users.getPricing", nc.pricing("com", "8.88"))
    fake.on("namecheap.domains.create", nc.created("lovelace-engines.com"))
    not_found = nc.error("namecheap.domains.dns.getHosts", 2019166, "Domain not found")
    fake.on("namecheap.domains.dns.getHosts", not_found, nc.hosts("lovelace-engines.com"))
    fake.on("namecheap.domains.dns.setHosts", nc.hosts_set("lovelace-engines.com"))
    records = [{"type": "A", "name": "@", "data": "192.0.2.10", "ttl": 600}]

    # when
    intention = post(
        api,
        f"{SERVICE}/create_registration_intention/",
        {"domain": "lovelace-engines.com"},
        buyer,
    )
    with django_capture_on_commit_callbacks(execute=True):
        submit = post(
            api,
            f"{SERVICE}/submit_registration_intention/",
            {
                "intention_id": intention.json()["data"]["intention_id"],
                "registrant_contact": CONTACT,
                "dns_records": records,
            },
            buyer,
        )

    # then: the intention is Namecheap's, with nothing added to the form
    assert intention.status_code == 201, intention.content
    offer = intention.json()["data"]
    assert (offer["provider"], offer["price"]) == ("namecheap", "9.06")
    assert "agreed_agreements" not in offer["schema"]["properties"]
    assert submit.status_code == 200, submit.content
    assert submit.json()["data"] == {
        "intention_id": offer["intention_id"],
        "domain": "lovelace-engines.com",
        "provider": "namecheap",
        "registered": True,
        "order_id": "196074",
        "total": "9.06",
        "currency": "USD",
    }
    assert fake.sent("namecheap.domains.create")[2]["RegistrantPhone"] == "+49.30901820"
    domain = Domain.objects.get(name="lovelace-engines.com")
    assert (domain.client, domain.provider) == (buyer.client, "namecheap")
    assert not RegistrantAccount.objects.exists()  # Namecheap has no sub-accounts
    # the DNS task waited for the zone, then set the records
    assert fake.commands().count("namecheap.domains.dns.getHosts") == 2
    host = fake.sent("namecheap.domains.dns.setHosts")[2]
    assert (host["HostName3"], host["RecordType3"], host["Address3"]) == ("@", "A", "192.0.2.10")
    assert Purchase.objects.get().dns_configured
