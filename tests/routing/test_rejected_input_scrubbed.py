"""Issue #12 leftovers: a 422's `detail` and `errors` quote the vendor, scrubbed.

Adapters pass on what a vendor said about the client's input, and a vendor's message can echo
what we sent it. TaxJar (faked with respx, in its documented `{"error", "detail", "status"}`
format) answers 400 with a detail that quotes our bearer token and a URL with it in the query.
"""

from __future__ import annotations

import json

import pytest
import respx

from apps.ledger.models import LedgerEntry
from tests.integrations.tax.conftest import IRVINE, SEATTLE, sale
from tests.integrations.tax.vendor_answers import taxjar_error
from tests.support.calls import Caller, configure, only_providers, paying_client, post

SALE = "/api/v1/services/tax/taxes_for_sale/"
TAXJAR_URL = "https://taxjar.test"
TOKEN = "tj-live-9e0cd62a22f451701f29c3bde214"

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(db: None) -> Caller:
    return paying_client(("tax.taxes_for_sale", "0.0200"))


@pytest.fixture
def taxjar_only(db: None) -> None:
    only_providers("taxjar")
    configure("taxjar", base_url=TAXJAR_URL, credentials={"api_token": TOKEN})


def test_a_vendor_message_echoing_the_token_reaches_the_client_without_it(api, shop, taxjar_only):
    # given: TaxJar refuses the ship-to address and quotes our request back
    detail = (
        f"to_zip 90002 is not used within to_state NY (token {TOKEN}; "
        f"see https://developers.taxjar.com/api/?api_token={TOKEN}#errors)"
    )
    with respx.mock(assert_all_called=True) as router:
        router.post(f"{TAXJAR_URL}/v2/taxes").respond(
            400, json=taxjar_error(400, "Bad Request", detail)
        )

        # when
        response = post(api, SALE, sale(SEATTLE, IRVINE), shop)

    # then: the client learns what is wrong with which field, and nothing of our token
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert TOKEN not in json.dumps(problem)
    assert "to_zip 90002 is not used within to_state NY" in problem["detail"]
    assert list(problem["errors"]) == ["ship_to_address"]
    (message,) = problem["errors"]["ship_to_address"]
    assert message.startswith("to_zip 90002 is not used within to_state NY (token [redacted];")
    assert "https://developers.taxjar.com/api/" in message
    assert problem["attempts"] == [
        {
            "provider": "taxjar",
            "outcome": "rejected",
            "latency_ms": problem["attempts"][0]["latency_ms"],
        }
    ]
    entry = LedgerEntry.objects.get()
    assert TOKEN not in json.dumps([entry.attempts, entry.routing, entry.error_detail])
