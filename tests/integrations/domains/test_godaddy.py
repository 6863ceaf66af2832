"""The GoDaddy adapter alone: its documented errors classified, prices from micro-units."""

import json
from decimal import Decimal

import pytest
import respx

from apps.catalog.providers import OUTCOME_AUTH, OUTCOME_HTTP_ERROR, OUTCOME_QUOTA, ProviderFault
from apps.integrations.domains.errors import DomainNotReady
from apps.integrations.domains.providers.godaddy import GoDaddy, subaccount_password
from apps.integrations.domains.providers.godaddy_contacts import godaddy_phone, our_field
from tests.integrations.domains import godaddy_answers as gd

API = GoDaddy.default_base_url
AVAILABLE = f"{API}/v1/domains/available"


@pytest.fixture
def godaddy(adapter):
    return adapter(GoDaddy, **gd.CREDENTIALS)


@respx.mock
async def test_availability_asks_a_full_check_and_reads_micro_units(godaddy, call):
    route = respx.get(AVAILABLE).respond(200, json={**gd.available(25980000), "period": 2})

    answer = await call(godaddy, "check_availability", {"domain": gd.DOMAIN})

    assert answer == {
        "domain": gd.DOMAIN,
        "available": True,
        "price": Decimal("12.99"),  # per year
        "currency": "USD",
    }
    request = route.calls.last.request
    assert request.headers["Authorization"] == gd.AUTHORIZATION
    assert dict(request.url.params) == {
        "domain": gd.DOMAIN,
        "checkType": "FULL",
        "forTransfer": "false",
    }


@respx.mock
@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (401, gd.UNAUTHORIZED, OUTCOME_AUTH),
        (403, gd.error("ACCESS_DENIED", "Authenticated user is not allowed access"), OUTCOME_AUTH),
        (500, gd.error("INTERNAL_SERVER_ERROR", "Internal server error"), OUTCOME_HTTP_ERROR),
        (429, gd.TOO_MANY, OUTCOME_QUOTA),
    ],
)
async def test_godaddys_own_trouble_is_a_fault(godaddy, call, status, body, outcome):
    respx.get(AVAILABLE).respond(status, json=body)

    with pytest.raises(ProviderFault) as fault:
        await call(godaddy, "check_availability", {"domain": gd.DOMAIN})

    assert fault.value.outcome == outcome
    if status == 429:
        assert fault.value.retry_after_s == 30


@respx.mock
async def test_set_dns_on_a_domain_without_a_zone_yet_is_not_ready(godaddy, call):
    respx.put(f"{API}/v1/domains/{gd.DOMAIN}/records/TXT").respond(404, json=gd.UNKNOWN_DOMAIN)
    records = [{"type": "TXT", "name": "@", "data": "v=spf1 -all"}]

    with pytest.raises(DomainNotReady):
        await call(godaddy, "set_dns", {"domain": gd.DOMAIN, "records": records})


@respx.mock
async def test_srv_records_take_godaddys_service_protocol_port_and_weight(godaddy, call):
    route = respx.put(f"{API}/v1/domains/{gd.DOMAIN}/records/SRV").respond(200)
    srv = {"type": "SRV", "name": "_sip._tcp", "data": "5 5060 sip.example.org", "priority": 10}

    await call(godaddy, "set_dns", {"domain": gd.DOMAIN, "records": [srv]})

    assert json.loads(route.calls.last.request.content) == [
        {
            "name": "@",
            "data": "sip.example.org",
            "ttl": 3600,
            "priority": 10,
            "service": "_sip",
            "protocol": "_tcp",
            "weight": 5,
            "port": 5060,
        }
    ]


def test_phone_and_field_paths_in_godaddys_terms():
    assert godaddy_phone("+14155550100") == "+1.4155550100"
    assert (
        our_field("body.contactAdmin.addressMailing.state") == "registrant_contact.address.region"
    )
    assert our_field("consent.agreementKeys") == "agreed_agreements"
    assert our_field("contactTech.email") == "non_field_errors"


def test_every_sub_account_gets_its_own_password():
    passwords = {subaccount_password() for _ in range(20)}
    assert len(passwords) == 20
    assert all(len(p) >= 20 and any(c in "!@#$%^*" for c in p) for p in passwords)
