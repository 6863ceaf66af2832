"""Registrars as ops configure them, a client that pays for every domains method, and a
fake GoDaddy (respx) answering in its documented format."""

import pytest
import respx

from tests.integrations.domains import godaddy_answers as gd
from tests.support.calls import Caller, configure, only_providers, paying_client

PRICES = {
    "domains.check_availability": "0.0100",
    "domains.create_registration_intention": "0.0100",
    "domains.submit_registration_intention": "1.0000",
    "domains.get": "0.0100",
    "domains.renew": "1.0000",
    "domains.set_dns": "0.0500",
}

CONTACT = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "organization": "Analytical Engines Ltd",
    "email": "ada@example.org",
    "phone": "+4930901820",
    "address": {
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "region": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    },
}
# The operator's own contact (settings.DOMAINS_OPERATOR_CONTACT), for registrars that want one.
OPERATOR = {
    "first_name": "Ops",
    "last_name": "Desk",
    "email": "domains@gateway.example",
    "phone": "+390612345678",
    "address": {
        "line1": "Via Roma 1",
        "line2": "Scala B",
        "city": "Roma",
        "region": "RM",
        "postal_code": "00100",
        "country": "IT",
    },
}
# A client's GoDaddy account (its own shopper), as it pins it.
SHOPPER = {"shopper_id": "583010277", "customer_id": "c-1", "password": "s3cret!Pass"}


@pytest.fixture
def buyer(db: None) -> Caller:
    """A client whose plan prices every domains method."""
    return paying_client(*PRICES.items())


@pytest.fixture
def godaddy_only(db: None) -> None:
    only_providers("godaddy")
    configure("godaddy", base_url=gd.GODADDY_URL, credentials=gd.CREDENTIALS)


@pytest.fixture
def vendors():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router
