"""The ledger list and a client's usage read a page in a fixed number of statements, however
many rows the page holds (no query per row)."""

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.factories import call_row

pytestmark = pytest.mark.django_db

NOV = datetime(2026, 11, 1, tzinfo=UTC)


def calls(client, count: int) -> None:
    for minute in range(count):
        call_row(client, NOV + timedelta(minutes=minute), api_key=client.api_keys.first())


@pytest.mark.parametrize("rows", [2, 25])
def test_the_ledger_list_is_the_session_and_one_read_of_the_page(
    finance, rows, django_assert_num_queries
):
    # given rows of two clients, written with a key
    for slug in ("acme", "globex"):
        client = factories.ClientFactory(slug=slug)
        factories.api_key_for(client)
        calls(client, rows)

    # when finance lists the ledger, then: the session, the user and its permissions (two),
    # and the page's rows with their clients and keys
    with django_assert_num_queries(5):
        page = finance.get("/api/v1/ledger/")
    assert page.status_code == 200
    assert len(page.json()["results"]) == 2 * rows


@pytest.mark.parametrize("rows", [2, 25])
def test_usage_is_the_key_and_one_read_of_the_page(api, rows, django_assert_num_queries):
    # given a client's calls
    client = factories.ClientFactory(slug="acme")
    key = factories.api_key_for(client)
    calls(client, rows)

    # when it lists its usage, then: its API key and the page's rows
    with django_assert_num_queries(2):
        page = api.get("/api/v1/usage/", headers={"Authorization": f"Api-Key {key}"})
    assert page.status_code == 200
    assert len(page.json()["results"]) == rows
