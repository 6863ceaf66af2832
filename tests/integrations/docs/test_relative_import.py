"""Issue #12 leftovers: a stylesheet `@import url(/path)` in a client's document.

A document has no base URL, and WeasyPrint raises on a relative @import (every other relative
URL it leaves out with a warning). That is the client's document, so the client gets a 422
naming the field, not a provider fault ("malformed") and a 502.
"""

from decimal import Decimal

import pytest

from apps.ledger.models import LedgerEntry
from tests.integrations.docs.conftest import HTML_TO_PDF
from tests.support.calls import post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"html": "<p>x</p>", "css": "@import url(/some/path);"}, "css"),
        ({"html": "<style>@import url(/some/path);</style><p>x</p>"}, "html"),
        ({"html": "<p>x</p>", "css": '@import url("../theme.css") print;'}, "css"),
    ],
)
def test_a_relative_import_is_the_clients_input_error(api, writer, weasyprint_only, payload, field):
    # when
    response = post(api, HTML_TO_PDF, payload, writer)

    # then
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert "@import" in problem["errors"][field][0]
    assert [a["outcome"] for a in problem["attempts"]] == ["rejected"]
    entry = LedgerEntry.objects.get()
    assert entry.price == Decimal("0")
