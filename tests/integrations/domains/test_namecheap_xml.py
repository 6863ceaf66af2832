"""Namecheap's envelope, error numbers and request fields, read and built on their own."""

import pytest

from apps.catalog.providers import OUTCOME_AUTH, OUTCOME_OUTAGE, InvalidInput, ProviderFault
from apps.integrations.domains.providers import namecheap_fields as fields
from apps.integrations.domains.providers.namecheap_xml import (
    CREATE_INVALID,
    parse_answer,
    raise_for_errors,
    us_date,
)
from tests.integrations.domains import namecheap_answers as nc


def test_an_answer_without_the_namespace_reads_the_same():
    # The getInfo page's example has no xmlns on ApiResponse.
    plain = nc.info("example.com").replace(b' xmlns="http://api.namecheap.com/xml.response"', b"")

    answer = parse_answer(plain, 200)

    assert answer.ok
    assert answer.first("DomainGetInfoResult").get("Status") == "Ok"


def test_errors_carry_their_numbers():
    answer = parse_answer(
        nc.error("namecheap.domains.create", 3019166, "Domain not available"), 200
    )

    assert not answer.ok
    assert [(e.number, e.text) for e in answer.errors] == [(3019166, "Domain not available")]
    assert answer.result is None


def two_errors(first: int, second: int) -> bytes:
    return (
        b'<ApiResponse Status="ERROR"><Errors>'
        + f'<Error Number="{first}">first</Error><Error Number="{second}">second</Error>'.encode()
        + b"</Errors></ApiResponse>"
    )


def test_input_errors_together_name_each_field():
    answer = parse_answer(two_errors(3019166, 2015182), 200)

    with pytest.raises(InvalidInput) as raised:
        raise_for_errors(answer, invalid=CREATE_INVALID, command="create")

    assert raised.value.errors == {"domain": ["first"], "registrant_contact.phone": ["second"]}


def test_an_input_error_beside_a_registrar_error_is_a_fault():
    # Namecheap's own trouble alongside: the client's input may not be the cause.
    answer = parse_answer(two_errors(3019166, 3050900), 200)

    with pytest.raises(ProviderFault) as raised:
        raise_for_errors(answer, invalid=CREATE_INVALID, command="create")

    assert raised.value.outcome == OUTCOME_OUTAGE


def test_a_credentials_error_wins_over_everything():
    answer = parse_answer(two_errors(3019166, 1011150), 200)

    with pytest.raises(ProviderFault) as raised:
        raise_for_errors(answer, invalid=CREATE_INVALID, command="create")

    assert raised.value.outcome == OUTCOME_AUTH


def test_status_error_without_errors_is_a_fault():
    answer = parse_answer(b'<ApiResponse Status="ERROR"><Errors/></ApiResponse>', 200)

    with pytest.raises(ProviderFault):
        raise_for_errors(answer, command="check")


@pytest.mark.parametrize(
    ("text", "iso"), [("09/05/2027", "2027-09-05"), ("4/30/2021 11:31:13 AM", "2021-04-30")]
)
def test_us_dates(text, iso):
    assert us_date(text).isoformat() == iso


@pytest.mark.parametrize(
    ("e164", "namecheap"),
    [
        ("+14155550100", "+1.4155550100"),
        ("+4930901820", "+49.30901820"),
        ("+390612345678", "+39.0612345678"),
        ("+35318120000", "+353.18120000"),
    ],
)
def test_phones_as_namecheap_writes_them(e164, namecheap):
    assert fields.namecheap_phone(e164, field="phone") == namecheap


def test_a_phone_that_is_not_one_names_its_field():
    with pytest.raises(fields.FieldRefused) as raised:
        fields.namecheap_phone("+0", field="registrant_contact.phone")

    assert raised.value.field == "registrant_contact.phone"


@pytest.mark.parametrize(
    ("domain", "parts"),
    [("example.com", ("example", "com")), ("example.co.uk", ("example", "co.uk"))],
)
def test_sld_and_tld(domain, parts):
    assert fields.split_domain(domain) == parts


def test_a_ttl_namecheap_does_not_take_is_refused():
    with pytest.raises(fields.FieldRefused) as raised:
        fields.host_fields([{"type": "A", "name": "@", "data": "192.0.2.1", "ttl": 86400}], [])

    assert raised.value.field == "records.0.ttl"


def test_kept_mail_setting_without_mx_records():
    hosts = fields.host_fields([{"type": "A", "name": "@", "data": "192.0.2.1"}], [], "FWD")

    assert hosts["EmailType"] == "FWD"
    assert "MXPref1" not in hosts
