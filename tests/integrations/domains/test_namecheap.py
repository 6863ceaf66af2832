"""The Namecheap adapter against the answers its command pages document (respx).

Each test shows what Namecheap receives (method, query or form fields) and what the adapter
makes of the answer; the adapter is called as the executor calls it, with the payload the
service's prepare hooks hand over.
"""

from decimal import Decimal

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    CallContext,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.domains.errors import DomainNotReady
from apps.integrations.domains.providers.namecheap import Namecheap
from tests.integrations.domains import namecheap_answers as nc
from tests.integrations.domains.conftest import OPERATOR
from tests.integrations.domains.namecheap_fake import FakeNamecheap

GLOBAL = {
    "ApiUser": "acmeapi",
    "ApiKey": "nc-secret-key-0123456789",
    "UserName": "acmeapi",
    "ClientIp": "203.0.113.7",
}
CHECK, PRICING = "namecheap.domains.check", "namecheap.users.getPricing"
CREATE, SET_HOSTS = "namecheap.domains.create", "namecheap.domains.dns.setHosts"
CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.org",
    "phone": "+4930901820",
    "organization": "Analytical Engines",
    "address": {
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "region": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    },
}


@pytest.fixture
def namecheap(adapter):
    return adapter(Namecheap, **nc.CREDENTIALS)


@pytest.fixture
def fake(respx_mock):
    return FakeNamecheap(respx_mock)


@pytest.fixture
def operator_contact(settings):
    settings.DOMAINS_OPERATOR_CONTACT = OPERATOR


async def ask(adapter, method, payload):
    context = CallContext(
        request_id="req-1", method=f"domains.{method}", client="acme", country="DE"
    )
    return await adapter.call(method, payload, context)


def submission(**overrides):
    return {
        "intention_id": "6f1c3c52-3f7e-4c4e-9d59-2b7f0f7a0b11",
        "domain": "lovelace-engines.com",
        "period": 1,
        "registrant_contact": CONTACT,
        "agreed_agreements": [],
        "price": Decimal("9.06"),
        "currency": "USD",
        "client_slug": "acme",
        "client_ip": "198.51.100.20",
        "account": None,
        "dns_records": None,
        **overrides,
    }


# -- check_availability and create_registration_intention ----------------------------------


async def test_an_available_domain_is_priced_from_the_accounts_register_price(fake, namecheap):
    # given
    fake.on(CHECK, nc.check("lovelace-engines.com", available=True))
    fake.on(PRICING, nc.pricing("com", "8.88"))

    # when
    answer = await ask(namecheap, "check_availability", {"domain": "lovelace-engines.com"})

    # then
    assert fake.sent(CHECK) == (
        "GET",
        {**GLOBAL, "Command": CHECK, "DomainList": "lovelace-engines.com"},
        {},
    )
    assert fake.sent(PRICING)[1] == {
        **GLOBAL,
        "Command": PRICING,
        "ProductType": "DOMAIN",
        "ProductCategory": "DOMAINS",
        "ActionName": "REGISTER",
        "ProductName": "COM",
    }
    # Price plus AdditionalCost, the ICANN fee Namecheap charges on top.
    assert answer == {
        "domain": "lovelace-engines.com",
        "available": True,
        "price": Decimal("9.06"),
        "currency": "USD",
    }


async def test_the_register_price_is_asked_once_per_tld_then_cached(fake, namecheap):
    fake.on(CHECK, nc.check("a-lovelace.com", available=True))
    fake.on(PRICING, nc.pricing("com", "8.88"))

    await ask(namecheap, "check_availability", {"domain": "a-lovelace.com"})
    await ask(namecheap, "check_availability", {"domain": "b-lovelace.com"})

    assert fake.commands() == [CHECK, PRICING, CHECK]


async def test_a_taken_domain_is_not_available_and_not_priced(fake, namecheap):
    fake.on(CHECK, nc.check("google.com", available=False))

    answer = await ask(namecheap, "check_availability", {"domain": "google.com"})

    assert answer == {"domain": "google.com", "available": False, "price": None, "currency": None}
    assert fake.commands() == [CHECK]


async def test_a_premium_name_costs_its_premium_price_and_icann_fee(fake, namecheap):
    fake.on(CHECK, nc.check("us.xyz", available=True, premium_price="13000.0000"))

    answer = await ask(namecheap, "check_availability", {"domain": "us.xyz"})

    assert answer["price"] == Decimal("13000.18")
    assert fake.commands() == [CHECK]


@pytest.mark.parametrize(
    ("number", "text"), [(2030280, "TLD is not supported in API"), (2011280, "TLD is invalid")]
)
async def test_a_tld_namecheap_does_not_sell_is_not_available(fake, namecheap, number, text):
    fake.on(CHECK, nc.error(CHECK, number, text))

    answer = await ask(namecheap, "check_availability", {"domain": "lovelace.zz"})

    assert answer == {"domain": "lovelace.zz", "available": False, "price": None, "currency": None}


async def test_an_intention_adds_nothing_to_the_registrant_form(fake, namecheap):
    fake.on(CHECK, nc.check("lovelace-engines.com", available=True))
    fake.on(PRICING, nc.pricing("com", "8.88"))

    answer = await ask(
        namecheap, "create_registration_intention", {"domain": "lovelace-engines.com"}
    )

    assert answer["schema_extra"] == {"properties": {}, "required": []}
    assert (answer["available"], answer["price"], answer["currency"]) == (
        True,
        Decimal("9.06"),
        "USD",
    )


# -- submit_registration_intention -----------------------------------------------------------


async def test_the_purchase_posts_every_contact_as_namecheap_names_them(
    fake, namecheap, operator_contact
):
    # given
    fake.on(CHECK, nc.check("lovelace-engines.com", available=True))
    fake.on(PRICING, nc.pricing("com", "8.88"))
    fake.on(CREATE, nc.created("lovelace-engines.com"))

    # when
    answer = await ask(namecheap, "submit_registration_intention", submission(period=2))

    # then: a POST form, secrets in the body and never in the URL
    method, query, form = fake.sent(CREATE)
    assert (method, query) == ("POST", {})
    registrant = {
        "RegistrantFirstName": "Ada",
        "RegistrantLastName": "Lovelace",
        "RegistrantOrganizationName": "Analytical Engines",
        "RegistrantAddress1": "Unter den Linden 1",
        "RegistrantCity": "Berlin",
        "RegistrantStateProvince": "Berlin",
        "RegistrantPostalCode": "10117",
        "RegistrantCountry": "DE",
        "RegistrantPhone": "+49.30901820",
        "RegistrantEmailAddress": "ada@example.org",
    }
    operator = {
        "FirstName": "Ops",
        "LastName": "Desk",
        "Address1": "Via Roma 1",
        "Address2": "Scala B",
        "City": "Roma",
        "StateProvince": "RM",
        "PostalCode": "00100",
        "Country": "IT",
        "Phone": "+39.0612345678",  # the Italian leading zero is part of the number
        "EmailAddress": "domains@gateway.example",
    }
    assert form == {
        **GLOBAL,
        "Command": CREATE,
        "DomainName": "lovelace-engines.com",
        "Years": "2",
        "AddFreeWhoisguard": "no",
        "WGEnabled": "no",
        **registrant,
        **{
            f"{role}{name}": value
            for role in ("Tech", "Admin", "AuxBilling")
            for name, value in operator.items()
        },
    }
    assert {
        k: answer[k] for k in ("domain", "registered", "order_id", "total", "currency", "account")
    } == {
        "domain": "lovelace-engines.com",
        "registered": True,
        "order_id": "196074",
        "total": Decimal("9.06"),
        "currency": "USD",
        "account": None,
    }


async def test_a_premium_purchase_sends_its_premium_price(fake, namecheap, operator_contact):
    fake.on(CHECK, nc.check("us.xyz", available=True, premium_price="13000.0000"))
    fake.on(CREATE, nc.created("us.xyz", charged="13000.1800"))

    await ask(
        namecheap,
        "submit_registration_intention",
        submission(domain="us.xyz", price=Decimal("13000.18")),
    )

    form = fake.sent(CREATE)[2]
    assert (form["IsPremiumDomain"], form["PremiumPrice"], form["EapFee"]) == (
        "true",
        "13000.0000",  # the premium price as check gave it
        "0",
    )


@pytest.mark.parametrize(
    ("number", "text", "field"),
    [
        (3019166, "Domain not available", "domain"),
        (
            2015182,
            "Contact phone is invalid. Format is +NNN.NNNNNNNNNN",
            "registrant_contact.phone",
        ),
        (2015167, "Years validation failed", "period"),
        (2030280, "TLD is not supported in API", "domain"),
    ],
)
async def test_a_purchase_namecheap_refuses_names_the_field(
    fake, namecheap, operator_contact, number, text, field
):
    fake.on(CHECK, nc.check("lovelace-engines.com", available=True))
    fake.on(PRICING, nc.pricing("com", "8.88"))
    fake.on(CREATE, nc.error(CREATE, number, text))

    with pytest.raises(InvalidInput) as raised:
        await ask(namecheap, "submit_registration_intention", submission())

    assert raised.value.errors == {field: [text]}


async def test_a_price_rise_since_the_intention_stops_the_purchase(
    fake, namecheap, operator_contact
):
    fake.on(CHECK, nc.check("lovelace-engines.com", available=True))
    fake.on(PRICING, nc.pricing("com", "10.88"))

    with pytest.raises(InvalidInput) as raised:
        await ask(namecheap, "submit_registration_intention", submission(price=Decimal("9.06")))

    assert list(raised.value.errors) == ["intention_id"]
    assert CREATE not in fake.commands()


async def test_a_domain_taken_since_the_intention_is_not_bought(fake, namecheap, operator_contact):
    fake.on(CHECK, nc.check("lovelace-engines.com", available=False))

    with pytest.raises(InvalidInput) as raised:
        await ask(namecheap, "submit_registration_intention", submission())

    assert list(raised.value.errors) == ["domain"]
    assert fake.commands() == [CHECK]


async def test_without_the_operators_contact_nothing_is_bought(fake, namecheap, settings):
    settings.DOMAINS_OPERATOR_CONTACT = {}

    with pytest.raises(ProviderFault) as raised:
        await ask(namecheap, "submit_registration_intention", submission())

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_MISCONFIGURED, False)
    assert fake.requests == []


# -- get, renew --------------------------------------------------------------------------------


async def test_get_reads_status_expiry_and_name_servers(fake, namecheap):
    fake.on("namecheap.domains.getInfo", nc.info("lovelace-engines.com"))

    answer = await ask(namecheap, "get", {"domain": "lovelace-engines.com", "account": None})

    assert fake.sent("namecheap.domains.getInfo")[:2] == (
        "GET",
        {**GLOBAL, "Command": "namecheap.domains.getInfo", "DomainName": "lovelace-engines.com"},
    )
    assert answer == {
        "domain": "lovelace-engines.com",
        "status": "ACTIVE",
        "expires_at": "2027-09-05T00:00:00+00:00",
        "renew_auto": None,
        "nameservers": ["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
    }


async def test_a_domain_not_in_the_account_is_invalid_input(fake, namecheap):
    fake.on(
        "namecheap.domains.getInfo",
        nc.error(
            "namecheap.domains.getInfo", 2016166, "Domain is not associated with your account"
        ),
    )

    with pytest.raises(InvalidInput) as raised:
        await ask(namecheap, "get", {"domain": "lovelace-engines.com", "account": None})

    assert raised.value.errors == {"domain": ["Domain is not associated with your account"]}


async def test_renew_charges_the_years_asked(fake, namecheap):
    fake.on("namecheap.domains.renew", nc.renewed("lovelace-engines.com"))

    answer = await ask(
        namecheap, "renew", {"domain": "lovelace-engines.com", "period": 3, "account": None}
    )

    assert fake.sent("namecheap.domains.renew")[1] == {
        **GLOBAL,
        "Command": "namecheap.domains.renew",
        "DomainName": "lovelace-engines.com",
        "Years": "3",
    }
    assert answer == {
        "domain": "lovelace-engines.com",
        "order_id": "109116",
        "total": Decimal("13.16"),
        "currency": "USD",
        "expires_at": "2028-04-30T00:00:00+00:00",
    }


async def test_renewing_an_expired_domain_is_refused(fake, namecheap):
    text = "Domain has expired.Please reactivate your domain"
    fake.on("namecheap.domains.renew", nc.error("namecheap.domains.renew", 2020166, text))

    with pytest.raises(InvalidInput) as raised:
        await ask(
            namecheap, "renew", {"domain": "lovelace-engines.com", "period": 1, "account": None}
        )

    assert raised.value.errors == {"domain": [text]}


# -- set_dns ------------------------------------------------------------------------------------


async def test_set_dns_replaces_the_types_given_and_sends_the_others_back(fake, namecheap):
    # given: @ A, www CNAME and a URL redirect at Namecheap
    fake.on("namecheap.domains.dns.getHosts", nc.hosts("lovelace-engines.com"))
    fake.on(SET_HOSTS, nc.hosts_set("lovelace-engines.com"))
    records = [
        {"type": "A", "name": "@", "data": "198.51.100.4", "ttl": 600},
        {"type": "MX", "name": "@", "data": "mx.example.net", "priority": 20},
    ]

    # when
    answer = await ask(
        namecheap,
        "set_dns",
        {"domain": "lovelace-engines.com", "records": records, "account": None},
    )

    # then
    assert fake.sent("namecheap.domains.dns.getHosts")[1] == {
        **GLOBAL,
        "Command": "namecheap.domains.dns.getHosts",
        "SLD": "lovelace-engines",
        "TLD": "com",
    }
    method, query, form = fake.sent(SET_HOSTS)
    assert (method, query) == ("POST", {})
    assert form == {
        **GLOBAL,
        "Command": SET_HOSTS,
        "SLD": "lovelace-engines",
        "TLD": "com",
        # kept: the CNAME and the URL redirect (types not given)
        **{"HostName1": "www", "RecordType1": "CNAME", "Address1": "example.net.", "TTL1": "1800"},
        **{
            "HostName2": "go",
            "RecordType2": "URL",
            "Address2": "https://example.net/go",
            "TTL2": "1800",
        },
        # the new ones; the old A record is gone
        **{"HostName3": "@", "RecordType3": "A", "Address3": "198.51.100.4", "TTL3": "600"},
        **{"HostName4": "@", "RecordType4": "MX", "Address4": "mx.example.net", "TTL4": "1800"},
        "MXPref4": "20",
        "EmailType": "MX",
    }
    assert answer == {
        "domain": "lovelace-engines.com",
        "records": [
            {"type": "A", "name": "@", "data": "198.51.100.4", "ttl": 600},
            {"type": "MX", "name": "@", "data": "mx.example.net", "ttl": 1800, "priority": 20},
        ],
    }


async def test_a_domain_not_yet_in_the_account_is_not_ready(fake, namecheap):
    command = "namecheap.domains.dns.getHosts"
    fake.on(command, nc.error(command, 2019166, "Domain not found"))

    with pytest.raises(DomainNotReady):
        await ask(
            namecheap,
            "set_dns",
            {
                "domain": "lovelace-engines.co.uk",
                "records": [{"type": "A", "name": "@", "data": "192.0.2.9"}],
                "account": None,
            },
        )

    # a registered domain's SLD is its first label, whatever the TLD's depth
    assert fake.sent(command)[1]["SLD"] == "lovelace-engines"
    assert fake.sent(command)[1]["TLD"] == "co.uk"


async def test_srv_records_are_refused_before_anything_is_set(fake, namecheap):
    fake.on("namecheap.domains.dns.getHosts", nc.hosts("lovelace-engines.com"))
    srv = {"type": "SRV", "name": "_sip._tcp", "data": "5 5060 sip.example.net", "priority": 10}

    with pytest.raises(InvalidInput) as raised:
        await ask(
            namecheap,
            "set_dns",
            {"domain": "lovelace-engines.com", "records": [srv], "account": None},
        )

    assert list(raised.value.errors) == ["records.0.type"]
    assert SET_HOSTS not in fake.commands()


async def test_hosts_namecheap_did_not_set_are_a_fault(fake, namecheap):
    fake.on("namecheap.domains.dns.getHosts", nc.hosts("lovelace-engines.com"))
    fake.on(SET_HOSTS, nc.hosts_set("lovelace-engines.com", success=False))

    with pytest.raises(ProviderFault) as raised:
        await ask(
            namecheap,
            "set_dns",
            {
                "domain": "lovelace-engines.com",
                "records": [{"type": "TXT", "name": "@", "data": "v=spf1 -all"}],
                "account": None,
            },
        )

    assert raised.value.outcome == OUTCOME_OUTAGE


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "text", "outcome"),
    [
        (*nc.IP_NOT_WHITELISTED, OUTCOME_AUTH),
        (*nc.API_KEY_INVALID, OUTCOME_AUTH),
        (1017410, "Too many declined payments", OUTCOME_AUTH),
        (3050900, "Unknown error from Enom", OUTCOME_OUTAGE),
        (5050900, "Unhandled exceptions", OUTCOME_OUTAGE),
        (9999999, "Something Namecheap never documented", OUTCOME_OUTAGE),
    ],
)
async def test_account_and_registrar_trouble_is_a_fault(fake, namecheap, number, text, outcome):
    fake.on(CHECK, nc.error(CHECK, number, text))

    with pytest.raises(ProviderFault) as raised:
        await ask(namecheap, "check_availability", {"domain": "lovelace-engines.com"})

    assert raised.value.outcome == outcome
    assert str(number) in raised.value.detail
    assert nc.CREDENTIALS["api_key"] not in raised.value.detail


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (503, b"<html><body>Service Unavailable</body></html>", OUTCOME_HTTP_ERROR),
        (200, b"<html><body>maintenance</body></html>", OUTCOME_MALFORMED),
        (200, b"not xml at all", OUTCOME_MALFORMED),
        (
            200,
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<ApiResponse Status="OK"><Errors/>&b;</ApiResponse>',
            OUTCOME_MALFORMED,  # entities are refused, never expanded
        ),
    ],
)
async def test_answers_that_are_not_namecheaps_xml_are_faults(
    fake, namecheap, status, body, outcome
):
    fake.on(CHECK, body, status=status)

    with pytest.raises(ProviderFault) as raised:
        await ask(namecheap, "check_availability", {"domain": "lovelace-engines.com"})

    assert raised.value.outcome == outcome


async def test_an_ok_answer_without_its_result_is_malformed(fake, namecheap):
    fake.on("namecheap.domains.renew", nc.envelope("namecheap.domains.renew", ""))

    with pytest.raises(ProviderFault) as raised:
        await ask(
            namecheap, "renew", {"domain": "lovelace-engines.com", "period": 1, "account": None}
        )

    assert raised.value.outcome == OUTCOME_MALFORMED


async def test_the_health_probe_reads_the_balances(fake, namecheap):
    fake.on("namecheap.users.getBalances", nc.BALANCES)

    await namecheap.probe()

    assert fake.sent("namecheap.users.getBalances")[1] == {
        **GLOBAL,
        "Command": "namecheap.users.getBalances",
    }


async def test_a_refused_key_makes_the_probe_fail(fake, namecheap):
    fake.on(
        "namecheap.users.getBalances", nc.error("namecheap.users.getBalances", *nc.API_KEY_INVALID)
    )

    with pytest.raises(ProviderFault) as raised:
        await namecheap.probe()

    assert raised.value.outcome == OUTCOME_AUTH


def test_the_endpoint_and_credentials_are_namecheaps_own_names():
    assert Namecheap.default_base_url == "https://api.namecheap.com/xml.response"
    assert Namecheap.credential_fields == ("api_user", "api_key", "username", "client_ip")
    assert Namecheap.has_health_probe()
