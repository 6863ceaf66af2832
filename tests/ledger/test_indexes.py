"""Every call inserts a ledger row, and every index of the ledger is one more insert: the
ledger keeps the indexes its readers use, and no other."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def ledger_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_ledgerentry'"
        )
        return dict(cursor.fetchall())


def test_the_ledger_has_no_index_its_readers_do_not_use():
    definitions = ledger_indexes().values()

    # ids are matched whole (admin search, finance API): no LIKE index
    assert not [d for d in definitions if "pattern_ops" in d]
    # lookups by client go through (client_id, created_at), the foreign key's included
    by_client = [d for d in definitions if "(client_id" in d]
    assert by_client == [d for d in definitions if "(client_id, created_at)" in d]
    assert len(by_client) == 1


def test_the_lookups_readers_make_have_their_index():
    columns = {d.split(" USING btree ")[1] for d in ledger_indexes().values()}

    assert {
        "(request_id)",  # a pasted request id
        "(api_key_id)",  # a key's rows; deleting a key checks them
        "(client_id, created_at)",  # a client's statement
        "(provider, created_at)",  # a provider's calls
        "(created_at)",  # a period
    } <= columns
