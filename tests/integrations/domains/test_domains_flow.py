"""The registration flow end to end on a fake GoDaddy, through the real endpoint:
check -> intention -> submit -> purchase and ownership rows -> the initial-DNS task."""

import json
from decimal import Decimal

import httpx
import pytest
from django.db import connection

from apps.integrations.domains.models import (
    Domain,
    Purchase,
    RegistrantAccount,
    RegistrationIntention,
)
from apps.integrations.domains.tasks import domains_initial_dns
from apps.ledger.models import LedgerEntry
from tests import factories
from tests.integrations.domains import godaddy_answers as gd
from tests.integrations.domains.conftest import CONTACT
from tests.support.calls import Caller, post

pytestmark = pytest.mark.django_db

SERVICE = "/api/v1/services/domains"
RECORDS = [
    {"type": "A", "name": "@", "data": "192.0.2.10", "ttl": 600},
    {"type": "CNAME", "name": "www", "data": "lovelace-engines.com"},
]


@pytest.fixture
def godaddy(vendors, godaddy_only):
    """GoDaddy answering availability, agreements and a purchase; DNS set per test."""
    vendors.get(f"{gd.GODADDY_URL}/v1/domains/available").respond(200, json=gd.available())
    vendors.get(f"{gd.GODADDY_URL}/v1/domains/agreements").respond(200, json=gd.AGREEMENTS)
    vendors.post(f"{gd.GODADDY_URL}/v1/domains/purchase/validate").respond(204)
    vendors.post(f"{gd.GODADDY_URL}/v1/shoppers/subaccount").respond(
        201, json=gd.SUBACCOUNT_CREATED
    )
    vendors.post(f"{gd.GODADDY_URL}/v1/domains/purchase").respond(200, json=gd.PURCHASED)
    return vendors


@pytest.fixture
def countdowns(monkeypatch):
    """The waits the DNS task asks for (eager Celery runs each retry at once)."""
    asked: list[int] = []
    retry = domains_initial_dns.retry

    def spy(*args, countdown=None, **kwargs):
        asked.append(countdown)
        return retry(*args, countdown=countdown, **kwargs)

    monkeypatch.setattr(domains_initial_dns, "retry", spy)
    return asked


def _intention(api, buyer) -> dict:
    response = post(api, f"{SERVICE}/create_registration_intention/", {"domain": gd.DOMAIN}, buyer)
    assert response.status_code == 201, response.content
    return response.json()["data"]


def _submit(api, buyer, intention_id, **extra):
    body = {
        "intention_id": intention_id,
        "registrant_contact": CONTACT,
        "agreed_agreements": ["DNRA"],
        **extra,
    }
    return post(api, f"{SERVICE}/submit_registration_intention/", body, buyer)


def test_check_then_intention_then_purchase_then_dns(
    api, buyer, godaddy, countdowns, django_capture_on_commit_callbacks
):
    # given GoDaddy offers the domain at 11.99 USD; its zone is not there at the first PUT
    a_records = godaddy.put(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}/records/A")
    a_records.side_effect = [httpx.Response(404, json=gd.UNKNOWN_DOMAIN), httpx.Response(200)]
    godaddy.put(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}/records/CNAME").respond(200)

    # when the client checks, takes an intention and submits the form
    check = post(api, f"{SERVICE}/check_availability/", {"domain": "Lovelace-Engines.COM"}, buyer)
    intention = _intention(api, buyer)
    with django_capture_on_commit_callbacks(execute=True):
        submit = _submit(api, buyer, intention["intention_id"], dns_records=RECORDS)

    # then availability and the intention name GoDaddy, its price and its agreements
    assert check.status_code == 200, check.content
    assert check.json()["data"] == {
        "domain": gd.DOMAIN,
        "available": True,
        "price": "11.99",
        "currency": "USD",
        "provider": "godaddy",
    }
    assert intention["provider"] == "godaddy" and intention["price"] == "11.99"
    agreements = intention["schema"]["properties"]["agreed_agreements"]
    assert agreements["items"]["enum"] == ["DNRA"]
    assert "agreed_agreements" in intention["schema"]["required"]
    # the purchase answers without the sub-account
    assert submit.status_code == 200, submit.content
    assert submit.json()["data"] == {
        "intention_id": intention["intention_id"],
        "domain": gd.DOMAIN,
        "provider": "godaddy",
        "registered": True,
        "order_id": "1480923719",
        "total": "11.99",
        "currency": "USD",
    }
    assert (submit["X-Provider"], submit["X-Price"]) == ("godaddy", "1.0000")

    # GoDaddy got the validation, a sub-account and the purchase for that shopper
    calls = {(c.request.method, c.request.url.path): c.request for c in godaddy.calls}
    validate = calls["POST", "/v1/domains/purchase/validate"]
    subaccount = json.loads(calls["POST", "/v1/shoppers/subaccount"].content)
    purchase = calls["POST", "/v1/domains/purchase"]
    assert purchase.headers["Authorization"] == gd.AUTHORIZATION
    assert purchase.headers["X-Shopper-Id"] == "583010277"
    assert "X-Shopper-Id" not in validate.headers
    body = json.loads(purchase.content)
    assert json.loads(validate.content) == body
    assert body["consent"]["agreementKeys"] == ["DNRA"]
    assert body["consent"]["agreedBy"] == "127.0.0.1"  # the caller's address
    assert body["consent"]["agreedAt"].endswith("Z")
    assert (body["domain"], body["period"], body["renewAuto"]) == (gd.DOMAIN, 1, False)
    assert body["contactRegistrant"] == {
        "nameFirst": "Ada",
        "nameLast": "Lovelace",
        "organization": "Analytical Engines Ltd",
        "email": "ada@example.org",
        "phone": "+49.30901820",
        "addressMailing": {
            "address1": "Unter den Linden 1",
            "city": "Berlin",
            "state": "Berlin",
            "postalCode": "10117",
            "country": "DE",
        },
    }
    assert subaccount["email"] == "ada@example.org" and subaccount["marketId"] == "en-US"
    assert len(subaccount["password"]) >= 20

    # the rows: intention finished, purchase, ownership, the sub-account kept encrypted
    stored = RegistrationIntention.objects.get(pk=intention["intention_id"])
    assert stored.finished and stored.registration_data["registrant_contact"] == CONTACT
    bought = Purchase.objects.get(intention=stored)
    assert (bought.order_id, bought.total, bought.currency) == (
        "1480923719",
        Decimal("11.99"),
        "USD",
    )
    assert bought.request_id == submit["X-Request-ID"]
    account = RegistrantAccount.objects.get(client=buyer.client, provider="godaddy")
    assert bought.account == account
    assert account.account == {
        "shopper_id": "583010277",
        "customer_id": gd.SUBACCOUNT_CREATED["customerId"],
        "password": subaccount["password"],
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT account FROM domains_registrantaccount")
        assert subaccount["password"] not in cursor.fetchone()[0]
    owned = Domain.objects.get(name=gd.DOMAIN)
    assert (owned.client, owned.provider, owned.purchase) == (buyer.client, "godaddy", bought)
    entry = LedgerEntry.objects.get(request_id=submit["X-Request-ID"])
    assert (entry.status, entry.provider, entry.price) == ("succeeded", "godaddy", Decimal("1"))

    # the DNS task waited 2 s for the zone, then set both types for the shopper
    assert countdowns == [2]
    bought.refresh_from_db()
    assert bought.dns_configured and not bought.dns_error
    put_a = a_records.calls.last.request
    assert put_a.headers["X-Shopper-Id"] == "583010277"
    assert json.loads(put_a.content) == [{"name": "@", "data": "192.0.2.10", "ttl": 600}]


def test_the_dns_task_gives_up_after_five_waits_and_tells_ops(
    api, buyer, godaddy, countdowns, django_capture_on_commit_callbacks
):
    godaddy.put(f"{gd.GODADDY_URL}/v1/domains/{gd.DOMAIN}/records/A").respond(
        404, json=gd.UNKNOWN_DOMAIN
    )
    intention = _intention(api, buyer)

    with django_capture_on_commit_callbacks(execute=True):
        submit = _submit(api, buyer, intention["intention_id"], dns_records=RECORDS[:1])

    assert submit.status_code == 200, submit.content
    assert countdowns == [2, 4, 8, 16, 32]
    bought = Purchase.objects.get()
    assert not bought.dns_configured
    assert "gave up after 6 tries" in bought.dns_error and "no zone" in bought.dns_error


def test_no_dns_records_no_task(api, buyer, godaddy, django_capture_on_commit_callbacks, settings):
    settings.DOMAINS_DEFAULT_DNS_RECORDS = []
    intention = _intention(api, buyer)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        submit = _submit(api, buyer, intention["intention_id"])

    assert submit.status_code == 200, submit.content
    assert not any("records" in c.request.url.path for c in godaddy.calls)
    assert not Purchase.objects.get().dns_configured and len(callbacks) == 0


def test_a_second_submit_of_a_finished_intention_is_409_and_buys_nothing(api, buyer, godaddy):
    intention = _intention(api, buyer)
    assert _submit(api, buyer, intention["intention_id"]).status_code == 200
    purchases = len([c for c in godaddy.calls if c.request.url.path == "/v1/domains/purchase"])

    again = _submit(api, buyer, intention["intention_id"])

    assert again.status_code == 409, again.content
    assert again.json()["errors"] == {"intention_id": ["This intention is finished."]}
    assert (
        purchases
        == 1
        == len([c for c in godaddy.calls if c.request.url.path == "/v1/domains/purchase"])
    )
    entry = LedgerEntry.objects.get(request_id=again["X-Request-ID"])
    assert (entry.status, entry.price) == ("rejected", Decimal("0"))


def test_another_clients_intention_is_404(api, buyer, godaddy):
    intention = _intention(api, buyer)
    globex = factories.ClientFactory(slug="globex", plan=buyer.client.plan, country="US")
    other = Caller(globex, factories.api_key_for(globex))

    response = _submit(api, other, intention["intention_id"])

    assert response.status_code == 404, response.content
    assert not any(c.request.url.path == "/v1/domains/purchase" for c in godaddy.calls)
    assert not RegistrationIntention.objects.get().finished


def test_a_form_that_breaks_the_schema_is_400_naming_the_field(api, buyer, godaddy):
    intention = _intention(api, buyer)
    no_city = {**CONTACT, "address": {k: v for k, v in CONTACT["address"].items() if k != "city"}}

    bad_contact = post(
        api,
        f"{SERVICE}/submit_registration_intention/",
        {"intention_id": intention["intention_id"], "registrant_contact": no_city},
        buyer,
    )
    no_agreement = _submit(api, buyer, intention["intention_id"], agreed_agreements=["TOS"])

    assert bad_contact.status_code == 400
    assert bad_contact.json()["errors"] == {
        "registrant_contact.address.city": ["This field is required."]
    }
    assert no_agreement.status_code == 400
    assert set(no_agreement.json()["errors"]) == {"agreed_agreements.0"}
    assert not any(c.request.method == "POST" for c in godaddy.calls)


def test_godaddy_refusing_the_contact_is_422_naming_our_field(api, buyer, godaddy):
    godaddy.post(f"{gd.GODADDY_URL}/v1/domains/purchase/validate").respond(
        422, json=gd.INVALID_POSTAL_CODE
    )
    intention = _intention(api, buyer)

    response = _submit(api, buyer, intention["intention_id"])

    assert response.status_code == 422, response.content
    assert response.json()["errors"] == {
        "registrant_contact.address.postal_code": ["postalCode is not valid for country DE"]
    }
    assert not any(c.request.url.path == "/v1/shoppers/subaccount" for c in godaddy.calls)
    assert not Purchase.objects.exists()


def test_a_sub_account_created_before_a_failed_purchase_is_kept_and_used_next_time(
    api, buyer, godaddy
):
    # given GoDaddy creates the client's shopper, then fails the purchase
    godaddy.post(f"{gd.GODADDY_URL}/v1/domains/purchase").respond(500, json={"code": "ERROR"})
    intention = _intention(api, buyer)

    # when
    failed = _submit(api, buyer, intention["intention_id"])

    # then the call failed, but the shopper GoDaddy made for the client is on record
    assert failed.status_code == 502, failed.content
    created = [c for c in godaddy.calls if c.request.url.path == "/v1/shoppers/subaccount"]
    assert len(created) == 1
    assert json.loads(created[0].request.content)["externalId"] == buyer.client.pk
    account = RegistrantAccount.objects.get(client=buyer.client, provider="godaddy")
    assert account.account["shopper_id"] == str(gd.SUBACCOUNT_CREATED["shopperId"])

    # when the client submits again and GoDaddy now sells
    godaddy.post(f"{gd.GODADDY_URL}/v1/domains/purchase").respond(200, json=gd.PURCHASED)
    bought = _submit(api, buyer, intention["intention_id"])

    # then no second shopper was created; the purchase went to the first one
    assert bought.status_code == 200, bought.content
    created = [c for c in godaddy.calls if c.request.url.path == "/v1/shoppers/subaccount"]
    assert len(created) == 1
    purchase = [c for c in godaddy.calls if c.request.url.path == "/v1/domains/purchase"][-1]
    assert purchase.request.headers["X-Shopper-Id"] == account.account["shopper_id"]
