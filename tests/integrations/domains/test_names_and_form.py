"""Domain names normalised to IDNA ASCII; the registrant form checked against its schema."""

import pytest

from apps.integrations.domains.names import NotADomainName, normalise_domain
from apps.integrations.domains.registrant_form import form_errors, form_schema
from tests.integrations.domains.conftest import CONTACT


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Example.COM", "example.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de.", "xn--bcher-kva.de"),
    ],
)
def test_names_are_stored_as_lower_case_idna(typed, stored):
    assert normalise_domain(typed) == stored


@pytest.mark.parametrize(
    "bad", ["", "localhost", "-start.com", "end-.com", "a..com", f"{'a' * 64}.com", "x.c0m"]
)
def test_not_domain_names(bad):
    with pytest.raises(NotADomainName):
        normalise_domain(bad)


def test_a_registrars_extra_is_required_and_checked():
    schema = form_schema(
        {
            "properties": {"agreed_agreements": {"type": "array", "items": {"enum": ["DNRA"]}}},
            "required": ["agreed_agreements"],
        }
    )

    assert form_errors(schema, {"registrant_contact": CONTACT, "agreed_agreements": ["DNRA"]}) == {}
    assert form_errors(schema, {"registrant_contact": CONTACT}) == {
        "agreed_agreements": ["This field is required."]
    }
    bad_email = {**CONTACT, "email": "not-an-address", "fax": "1"}
    assert form_errors(schema, {"registrant_contact": bad_email, "agreed_agreements": []}) == {
        "registrant_contact.fax": ["Unknown field."],
        "registrant_contact.email": ["Not a valid email address."],
    }
