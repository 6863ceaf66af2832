"""Every call inserts a ledger row, and every index of the ledger is one more insert: the
ledger keeps the indexes its readers use, and no other (issue #18)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def ledger_indexes() -> dict[str, str]:
    """Each index's name and what follows `USING btree` in its definition."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_ledgerentry'"
        )
        return {name: d.split(" USING btree ")[1] for name, d in cursor.fetchall()}


def unless(column: str, value: str) -> str:
    return f"WHERE (NOT (({column})::text = '{value}'::text))"


def test_the_ledger_has_exactly_the_indexes_its_reads_use():
    assert ledger_indexes() == {
        "ledger_ledgerentry_pkey": "(id)",
        "ledger_ledgerentry_reverses_id_key": "(reverses_id)",  # a row is reversed once
        "ledger_request_id": "(request_id)",  # a pasted request id, matched whole
        # each filter, then the rows' order with the cursor's tie-breaker
        "ledger_by_time": "(created_at, id)",
        "ledger_by_client": "(client_id, created_at, id)",
        "ledger_by_provider": "(provider, created_at, id)",
        "ledger_by_method": "(service, method, created_at, id)",
        "ledger_by_api_key": "(api_key_id, created_at, id)",
        # the rare values only: an ordinary call's row never enters these
        "ledger_by_status": "(status, created_at, id) " + unless("status", "succeeded"),
        "ledger_by_channel": "(channel, created_at, id) " + unless("channel", "http"),
        "ledger_by_kind": "(kind, created_at, id) " + unless("kind", "charge"),
        "ledger_by_staff": "(created_by_id) WHERE (created_by_id IS NOT NULL)",
    }


def test_the_rollup_has_one_bucket_per_day_client_method_provider_country_status_channel():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'ledger_day_bucket_unique'"
        )
        (definition,) = cursor.fetchone()

    assert definition.endswith(
        "(day, client_id, service, method, provider, country, status, channel)"
    )
