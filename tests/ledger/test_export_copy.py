"""The export on PostgreSQL is written by COPY (issue #18, a month at >= 50k rows/s): the
same bytes as the Python path (Python's csv module over the ORM's rows), tricky cells
included, in the same order and batches, with the same filters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from apps.ledger.export import copy_chunks, python_chunks
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import LedgerFilters, ledger_rows
from apps.ledger.services import ledger_reverse, ledger_topup
from tests import factories
from tests.factories import call_row, staff_user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]

NOV = datetime(2026, 11, 1, tzinfo=UTC)
TRICKY_TEXT = [
    'a "quoted", comma',
    "line one\nline two\r\nline three",
    '=HYPERLINK("http://evil")',
    "+1",
    "-2",
    "@sum",
    "\ttabbed",
    "\rreturn",
    "ünïcødé — ✓",
    "'already quoted",
    "",
]


@pytest.fixture
def tricky_rows() -> None:
    acme = factories.ClientFactory(slug="acme", country="DE")
    odd = factories.ClientFactory(slug="=cmd|' /C calc'!A0", country="FR")
    for n, text in enumerate(TRICKY_TEXT):
        call_row(
            acme if n % 2 else odd,
            # whole seconds and microseconds; two rows share a time (the id breaks the tie)
            NOV + timedelta(hours=n, microseconds=(n % 3) * 250_001 if n != 4 else 0),
            request_id=f"req-{text}" if text else f"req-plain-{n}",
            provider="" if n % 4 == 0 else "fixer",  # a failed call's empty provider
            status="failed" if n % 4 == 0 else "succeeded",
            http_status=None if n % 3 == 0 else 200,
            latency_ms=None if n % 2 == 0 else 10 * n,
            error_type=text,
            source_ip="2001:db8::1" if n % 2 else ("10.0.0.7" if n % 3 else None),
            free_call=n == 5,
            cached=n == 6,
            price=Decimal("0") if n == 5 else Decimal("1234567.0100"),
        )
    same_time = NOV + timedelta(days=3)
    first = call_row(acme, same_time, request_id="req-tie-a", price=Decimal("0.0300"))
    call_row(acme, same_time, request_id="req-tie-b")
    ledger_reverse(entry=first, reason='outage, "credit"\nsecond line', staff_user=None)
    ledger_topup(client=acme, amount=Decimal("100"), reason="-wire", staff_user=None)


def both(filters: LedgerFilters, batch_size: int) -> tuple[list[bytes], list[bytes]]:
    by_copy = list(copy_chunks(filters, batch_size=batch_size))
    by_python = list(python_chunks(filters, batch_size=batch_size))
    return by_copy, by_python


@pytest.mark.parametrize("batch_size", [1, 4, 5000])
def test_copy_writes_the_bytes_the_python_path_writes(tricky_rows, batch_size):
    # when
    by_copy, by_python = both(LedgerFilters(), batch_size)

    # then the same chunks, byte for byte...
    assert by_copy == by_python
    # ...which a CSV reader reads back as the rows, tricky cells intact
    rows = list(csv.DictReader(io.StringIO(b"".join(by_copy).decode(), newline="")))
    assert len(rows) == LedgerEntry.objects.count() == len(TRICKY_TEXT) + 4
    errors = {row["error_type"] for row in rows}
    assert {
        'a "quoted", comma',
        "line one\nline two\r\nline three",
        '\'=HYPERLINK("http://evil")',
    } <= errors
    assert {"'+1", "'-2", "'@sum", "'\ttabbed", "'\rreturn", "ünïcødé — ✓"} <= errors
    refund = next(row for row in rows if row["kind"] == "refund")
    assert (refund["amount"], refund["reason"]) == ("0.0300", 'outage, "credit"\nsecond line')
    assert next(row for row in rows if row["kind"] == "topup")["reason"] == "'-wire"
    charges = [row for row in rows if row["kind"] == "charge"]
    assert {row["created_at"][-6:] for row in rows} == {"+00:00"}
    assert "2026-11-01T00:00:00+00:00" in {row["created_at"] for row in charges}
    assert "2026-11-01T01:00:00.250001+00:00" in {row["created_at"] for row in charges}
    assert {row["amount"] for row in charges} >= {"-1234567.0100", "0.0000"}
    assert {row["provider"] for row in charges} == {"", "fixer"}
    assert {row["client"] for row in charges} == {"acme", "'=cmd|' /C calc'!A0"}
    assert {row["http_status"] for row in charges} == {"", "200"}
    assert {row["source_ip"] for row in charges} == {"", "10.0.0.7", "2001:db8::1"}
    assert {(row["free_call"], row["cached"]) for row in charges} >= {("True", "False")}


def test_an_empty_cell_is_quoted_and_a_number_is_not(tricky_rows):
    # given the failed call at midnight: no provider, no http status, latency or address
    before = LedgerFilters(created_before=NOV + timedelta(minutes=1))

    # when
    header, line = copy_chunks(before, batch_size=5000)

    # then
    assert header.startswith(b'"created_at","request_id","kind",')
    assert line.startswith(
        b'"2026-11-01T00:00:00+00:00","req-a ""quoted"", comma","charge",'
        b'"\'=cmd|\' /C calc\'!A0","currency","latest_rates","","failed","",1234567.0100,'
    )
    assert line.endswith(b'"","a ""quoted"", comma","",""\r\n')
    assert [header, line] == list(python_chunks(before, batch_size=5000))


@pytest.mark.parametrize(
    "filters",
    [
        LedgerFilters(client="acme"),
        LedgerFilters(client="=cmd|' /C calc'!A0", status="failed"),
        LedgerFilters(provider="fixer", created_after=NOV + timedelta(hours=3)),
        LedgerFilters(kind="refund"),
        LedgerFilters(client="no-such-client"),
    ],
    ids=["client", "client-status", "provider-after", "kind", "unknown-client"],
)
def test_the_filters_narrow_copy_as_they_narrow_the_list(tricky_rows, filters):
    by_copy, by_python = both(filters, 3)

    assert by_copy == by_python
    rows = list(csv.DictReader(io.StringIO(b"".join(by_copy).decode(), newline="")))
    listed = ledger_rows(filters=filters).values_list("request_id", flat=True)
    assert sorted(row["request_id"].lstrip("'") for row in rows) == sorted(listed)
    assert rows or filters.client == "no-such-client"


def test_each_batch_is_one_key_read_and_one_copy(tricky_rows):
    # given 15 rows in batches of 5
    with CaptureQueriesContext(connection) as queries:
        chunks = list(copy_chunks(LedgerFilters(), batch_size=5))

    # then the header and 3 chunks: per batch, its planner settings, the last row's key,
    # then its COPY
    assert len(chunks) == 4
    statements = [q["sql"] for q in queries.captured_queries]
    assert len(statements) == 8  # batches 1-3, and the empty 4th
    assert all(sql.startswith("SELECT set_config('jit', 'off', true)") for sql in statements[::2])
    assert all(
        sql.startswith('SELECT "ledger_ledgerentry"."created_at"') for sql in statements[1::2]
    )
    # (COPY runs on the driver's cursor, so it is not captured: its rows are the chunks)


def test_the_export_api_on_postgresql_is_written_by_copy(finance: HttpClient, tricky_rows):
    # when
    response = finance.get("/api/v1/ledger/export.csv", {"client": "acme"})
    body = b"".join(response.streaming_content)

    # then
    assert response.status_code == 200
    assert body == b"".join(python_chunks(LedgerFilters(client="acme"), batch_size=5000))


def test_without_the_ledger_permission_nothing_is_exported(api: HttpClient, tricky_rows):
    api.force_login(staff_user("sam"))  # staff, but not in finance

    response = api.get("/api/v1/ledger/export.csv")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
