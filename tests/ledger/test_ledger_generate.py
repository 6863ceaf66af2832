"""manage.py ledger_generate: a skewed, consistent ledger that ledger_check accepts."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, Min, Sum

from apps.accounts.models import Client, ClientApiKey
from apps.ledger.management.commands.ledger_generate import client_shape, months_back
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.rollup import DIMENSIONS, ledger_rollup_rebuild

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 8, 30, tzinfo=UTC)
SHAPE = {"rows": 6000, "months": 3, "big": 2, "mid": 4, "tiny": 6, "mid_share": 0.2}


def generate(**options: object) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("ledger_generate", stdout=out, no_vacuum=True, **{**SHAPE, **options})
    return out.getvalue()


def ledger_check() -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("ledger_check", stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def rows_per_client() -> dict[str, int]:
    counts = (
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
        .values("client__slug")
        .annotate(n=Count("id"))
    )
    return {row["client__slug"]: row["n"] for row in counts}


def test_a_generated_ledger_passes_ledger_check_with_top_ups_and_charges():
    output = generate(keep_indexes=True)

    assert "Wrote 6,000 call rows for 12 clients" in output
    assert "rows/s" in output
    assert ledger_check() == (0, "Every balance equals the sum of its client's ledger rows.\n")
    # Each month's charges are paid early the next month: Oct and Nov by now, Dec not yet.
    big = Client.objects.get(slug="gen-big-00")
    topups = LedgerEntry.objects.filter(client=big, kind=LedgerEntry.Kind.TOPUP)
    assert sorted(t.created_at.date().replace(day=1) for t in topups) == [
        date(2026, 10, 1),
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    assert all(t.amount > 0 for t in topups)
    december = LedgerEntry.objects.filter(
        client=big, kind=LedgerEntry.Kind.CHARGE, created_at__gte=datetime(2026, 12, 1, tzinfo=UTC)
    )
    unpaid = sum((row.amount for row in december), Decimal(0))
    assert big.balance == unpaid < 0


def test_rows_have_the_requested_skew():
    generate(keep_indexes=True)

    counts = rows_per_client()
    expected = client_shape(6000, 2, 4, 6, 0.2)
    slugs = ["gen-big-00", "gen-big-01"] + [f"gen-mid-{n:04d}" for n in range(4)]
    slugs += [f"gen-tiny-{n:03d}" for n in range(6)]
    assert [counts.get(slug, 0) for slug in slugs] == expected
    assert sum(counts.values()) == 6000
    # Big clients hold most rows (the first twice the second), mid clients share a fifth,
    # tiny ones make a handful of calls each.
    assert counts["gen-big-00"] > 2 * counts["gen-big-01"] * 0.9 > 1000
    assert sum(expected[2:6]) == 1200
    assert all(1 <= counts[slug] <= 9 for slug in slugs[6:])


def test_the_shape_scales_to_millions_for_big_clients_and_thousands_for_mid_ones():
    shape = client_shape(20_000_000, 3, 1000, 50, 0.2)

    assert sum(shape) == 20_000_000
    assert [n > 2_000_000 for n in shape[:3]] == [True, True, True]
    assert all(1000 <= n <= 9999 for n in shape[3:1003])
    assert all(1 <= n <= 9 for n in shape[1003:])


def test_rows_spread_over_the_months_statuses_channels_and_offerings():
    generate(keep_indexes=True)

    charges = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE)
    first = charges.aggregate(first=Min("created_at"))["first"]
    assert first.date() >= months_back(NOW.date(), 3) == date(2026, 9, 6)
    days = charges.dates("created_at", "day")
    assert len(days) == (NOW.date() - date(2026, 9, 6)).days + 1
    assert set(charges.values_list("channel", flat=True)) == {
        "http",
        "async",
        "ws",
        "mq",
        "webhook",
    }
    assert {"succeeded", "failed"} <= set(charges.values_list("status", flat=True))
    assert charges.values("service", "method", "provider").distinct().count() > 5
    assert charges.filter(api_key__isnull=False).count() > 5000
    served = charges.filter(status="succeeded", free_call=False).earliest("id")
    assert served.price > 0 and served.amount == -served.price
    assert isinstance(served.price, Decimal)
    failed = charges.filter(status="failed").earliest("id")
    assert (failed.price, failed.amount, failed.provider) == (0, 0, "")
    key = ClientApiKey.objects.get(pk=served.api_key_id)
    assert key.client_id == served.client_id


def test_the_rollup_matches_the_rows():
    generate(keep_indexes=True)

    def buckets() -> set[tuple[object, ...]]:
        return set(LedgerDay.objects.values_list(*DIMENSIONS, "calls", "cost", "revenue"))

    written = buckets()
    assert len(written) > 100
    ledger_rollup_rebuild()
    assert buckets() == written


def test_a_second_run_adds_rows_and_stays_consistent():
    generate(keep_indexes=True, rows=3000)
    generate(keep_indexes=True, rows=3000)

    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).count() == 6000
    assert ledger_check()[0] == 0


def test_indexes_dropped_for_the_load_are_all_rebuilt():
    def indexes() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'ledger_ledgerentry'")
            return {row[0] for row in cursor.fetchall()}

    # the planner's row estimate outlives rolled-back tests that ANALYZEd their rows: read
    # this (empty) table's own, as the command does
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_ledgerentry")
    before = indexes()
    output = generate()

    assert "Dropped" in output and "rebuilt ledger_request_id" in output
    assert indexes() == before
    assert ledger_check()[0] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rows": 0}, "--rows and --months must be at least 1"),
        ({"months": 0}, "--rows and --months must be at least 1"),
        ({"mid_share": 1.5}, "--mid-share in [0, 1)"),
        ({"tiny": -1}, "client counts must not be negative"),
        ({"seed": 2.0}, "--seed must be from -1 to 1"),
        ({"rows": 20, "tiny": 6, "mid": 4}, "does not fit this shape"),
    ],
)
def test_bad_options_are_refused(options, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        generate(**options)
    assert not LedgerEntry.objects.exists()


def test_the_portable_path_makes_the_same_kind_of_ledger():
    # given --portable: rows made in Python, as on SQLite
    output = generate(portable=True)

    # then the same skew, consistent balances with top-ups, and a rollup matching the rows
    assert "Wrote 6,000 call rows for 12 clients" in output
    assert rows_per_client()["gen-big-00"] == client_shape(6000, 2, 4, 6, 0.2)[0]
    assert all(1 <= n <= 9 for slug, n in rows_per_client().items() if "tiny" in slug)
    assert ledger_check() == (0, "Every balance equals the sum of its client's ledger rows.\n")
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.TOPUP).count() > 10
    calls = LedgerDay.objects.aggregate(n=Sum("calls"))["n"]
    assert calls == 6000


def test_the_portable_path_refuses_large_ledgers():
    with pytest.raises(CommandError, match="at most 200,000; use PostgreSQL for more"):
        generate(portable=True, rows=200_001)
