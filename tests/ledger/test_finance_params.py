"""The finance and usage APIs refuse instants and cursors they cannot use with a 400 that
names the parameter (they were 500s), and the CSV export neutralises formulas."""

import base64
import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_reverse, ledger_topup
from tests import factories
from tests.factories import call_row, staff_user

pytestmark = pytest.mark.django_db

FINANCE_URLS = ["/api/v1/ledger/", "/api/v1/ledger/summary/", "/api/v1/ledger/export.csv"]
BAD_INSTANTS = [
    "99999-01-01",
    "0000-00-00",
    "2026-13-01",
    "2026-01-01T00:00:00+99:00",
    "2026-01-01T00:00:00[Europe/Nowhere]",
    "0001-01-01T00:00:00+05:00",  # year 0 in UTC
    "9999-12-31T23:59:59-05:00",  # year 10000 in UTC
    "x" * 10_000,
]


def cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


BAD_CURSORS = [
    "!!!not base64!!!",
    "abc",
    cursor("p=garbage"),
    cursor("p=99999-01-01"),
    cursor("p=2026-11-01T00:00:00"),  # no offset: not a created_at the API gave out
    cursor("p=0001-01-01T00:00:00%2B05:00"),
    cursor("r=1&p=\x00"),
    cursor("o=-5"),
]


@pytest.mark.parametrize("url", FINANCE_URLS)
@pytest.mark.parametrize("field", ["created_after", "created_before"])
@pytest.mark.parametrize("value", BAD_INSTANTS)
def test_an_instant_the_ledger_cannot_use_is_a_400_naming_it(finance, url, field, value):
    # when
    response = finance.get(url, {field: value, "group_by": "day"})

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize("url", ["/api/v1/ledger/", "/api/v1/usage/"])
@pytest.mark.parametrize("value", BAD_CURSORS)
def test_a_cursor_the_api_did_not_give_out_is_a_400_naming_it(api, caller, url, value):
    # given finance, or a client reading its usage
    headers = caller.headers if "usage" in url else {}
    if "ledger" in url:
        api.force_login(staff_user("fiona", "finance"))

    # when
    response = api.get(url, {"cursor": value}, headers=headers)

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"] == {"cursor": ["Use the next or previous link as given."]}


@pytest.mark.parametrize("url", ["/api/v1/ledger/", "/api/v1/usage/"])
@pytest.mark.parametrize("value", ["0", "-1", "1001", "ten", "2.5", "\u0663", "}\U000e2f8c"])
def test_a_page_size_out_of_range_is_a_400_not_a_page_of_another_size(api, caller, url, value):
    # given finance, or a client reading its usage (DRF ignored a bad page_size quietly)
    headers = caller.headers if "usage" in url else {}
    if "ledger" in url:
        api.force_login(staff_user("fiona", "finance"))

    # when
    response = api.get(url, {"page_size": value}, headers=headers)

    # then
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["page_size"]


@pytest.mark.parametrize("value", BAD_INSTANTS)
def test_usage_refuses_an_instant_it_cannot_use(api, caller, value):
    response = api.get("/api/v1/usage/", {"created_after": value}, headers=caller.headers)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["created_after"]


def test_the_cursors_the_api_gives_out_still_page_through_every_row(api, caller):
    # given 5 calls, read 2 a page
    for minute in range(5):
        call_row(caller.client, datetime(2026, 11, 1, 0, minute, tzinfo=UTC))
    url, seen = "/api/v1/usage/?page_size=2", []

    # when
    while url:
        page = api.get(url, headers=caller.headers).json()
        seen += [row["request_id"] for row in page["results"]]
        url = page["next"]

    # then
    assert len(seen) == len(set(seen)) == 5


def test_the_export_neutralises_cells_a_spreadsheet_would_run(finance):
    # given rows whose text a client or staff chose, starting with formula characters
    client = factories.ClientFactory(slug="acme")
    call_row(client, datetime(2026, 11, 1, tzinfo=UTC), request_id="-2+3")
    entry = call_row(client, datetime(2026, 11, 2, tzinfo=UTC), request_id="plain")
    ledger_reverse(entry=entry, reason='=HYPERLINK("http://evil.example","x")', staff_user=None)
    ledger_topup(client=client, amount=Decimal("5"), reason="@SUM(1+1)", staff_user=None)
    ledger_topup(client=client, amount=Decimal("5"), reason="+1\tand\ra tab", staff_user=None)

    # when
    response = finance.get("/api/v1/ledger/export.csv")
    text = b"".join(response.streaming_content).decode()

    # then: text that would run starts with a single quote, in quotes
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["request_id"] for r in rows][:2] == ["'-2+3", "plain"]
    assert [r["reason"] for r in rows[2:]] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'@SUM(1+1)",
        "'+1\tand\ra tab",
    ]
    assert '"\'-2+3"' in text and '"\'@SUM(1+1)"' in text
    # and amounts stay numbers, unquoted and never prefixed, the negative ones too
    charge = rows[0]
    assert charge["amount"] == "-0.0100"
    assert Decimal(charge["amount"]) == LedgerEntry.objects.get(request_id="-2+3").amount
    assert ",-0.0100," in text
