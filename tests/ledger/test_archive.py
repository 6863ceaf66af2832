"""manage.py ledger_archive (issue #15): old month partitions exported, checked, detached;
balances unchanged and still the sum of the rows kept; summaries of those months still answer."""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections

from apps.accounts.models import Client
from apps.ledger import archive as archive_module
from apps.ledger.archive import ArchiveRefused, ledger_month_archive
from apps.ledger.models import LedgerEntry
from apps.ledger.partitions import (
    ledger_partitions,
    month_of,
    month_start,
    next_month,
    partition_create,
)
from apps.ledger.selectors import LedgerFilters
from apps.ledger.services import ledger_topup
from apps.ledger.summary import ledger_summary
from tests import factories
from tests.factories import call_row

pytestmark = pytest.mark.django_db


def month_back(n: int) -> date:
    month = month_of(datetime.now(UTC))
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def noon(month: date, day: int) -> datetime:
    return datetime.combine(
        month.replace(day=day), time(12), tzinfo=ZoneInfo(settings.ACCOUNTING_TIME_ZONE)
    )


def archive(*args: str) -> str:
    out = StringIO()
    call_command("ledger_archive", *args, stdout=out)
    return out.getvalue()


def ledger_check() -> str:
    out = StringIO()
    call_command("ledger_check", stdout=out)  # exits 1 on any difference
    return out.getvalue()


def month_summary(month: date) -> list[tuple[int, Decimal, Decimal]]:
    filters = LedgerFilters(
        created_after=month_start(month), created_before=month_start(next_month(month))
    )
    return [(s.calls, s.cost, s.revenue) for s in ledger_summary(group_by=[], filters=filters)]


@pytest.fixture
def old_months() -> tuple[date, date]:
    """The two months before last, with their partitions."""
    older, old = month_back(3), month_back(2)
    for month in (older, old):
        partition_create(connection, month)
    return older, old


def test_old_months_are_exported_and_detached_and_balances_stay(tmp_path: Path, old_months):
    # given two clients with rows in two old months and this month
    older, old = old_months
    acme, globex = factories.ClientFactory(slug="acme"), factories.ClientFactory(slug="globex")
    ledger_topup(client=acme, amount=Decimal("5"), reason="wire", staff_user=None)
    for day in (3, 4, 5):
        call_row(acme, noon(older, day), price=Decimal("0.0100"), cost=Decimal("0.0010"))
    call_row(globex, noon(older, 9), price=Decimal("0.2000"), cost=Decimal("0.0500"))
    call_row(acme, noon(old, 2), price=Decimal("0.0300"), cost=Decimal("0.0020"))
    kept = call_row(acme, datetime.now(UTC), price=Decimal("0.0100"))
    balances = dict(Client.objects.values_list("slug", "balance"))
    summary_before = month_summary(older)

    # when
    output = archive("--before", f"{month_back(1):%Y-%m}", "--out", str(tmp_path))

    # then both old months are files with their manifests, and gone from the ledger
    older_name, old_name = (f"ledger_ledgerentry_p{m:%Y_%m}" for m in (older, old))
    assert f"archived {older_name}: 4 rows" in output
    # the old month: its call, and the older month's two carried balances
    assert f"archived {old_name}: 3 rows" in output
    manifest = json.loads((tmp_path / f"{older_name}.manifest.json").read_text())
    exported = tmp_path / f"{older_name}.csv.gz"
    assert manifest["rows"] == 4
    assert Decimal(manifest["amount"]) == Decimal("-0.2300")
    assert Decimal(manifest["cost"]) == Decimal("0.0530")
    assert Decimal(manifest["price"]) == Decimal("0.2300")
    assert manifest["sha256"] == hashlib.sha256(exported.read_bytes()).hexdigest()
    with gzip.open(exported, "rt", newline="") as read:
        rows = list(csv.DictReader(read))
    assert [row["client_id"] for row in rows] == [str(acme.pk)] * 3 + [str(globex.pk)]
    assert {p.name for p in ledger_partitions()}.isdisjoint({older_name, old_name})
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [older_name])
        assert cursor.fetchone()[0] is None  # dropped

    # and balances are unchanged, each still the sum of the rows kept
    assert dict(Client.objects.values_list("slug", "balance")) == balances
    assert ledger_check() == "Every balance equals the sum of its client's ledger rows.\n"
    carried = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CARRIED)
    assert sorted((row.client.slug, row.amount) for row in carried) == [
        ("acme", Decimal("-0.0600")),  # both months, the older's carried into the old one
        ("globex", Decimal("-0.2000")),
    ]
    assert LedgerEntry.objects.filter(pk=kept.pk).exists()
    # and the summary of an archived month still answers, from the rollup
    assert month_summary(older) == summary_before
    assert summary_before[0][0] == 4


def test_keep_table_keeps_the_month_as_a_plain_table(tmp_path: Path, old_months):
    older, _ = old_months
    call_row(factories.ClientFactory(), noon(older, 7))

    archive("--before", f"{month_back(2):%Y-%m}", "--out", str(tmp_path), "--keep-table")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ledger_archived_p{older:%Y_%m}")  # noqa: S608
        assert cursor.fetchone()[0] == 1
    assert f"ledger_ledgerentry_p{older:%Y_%m}" not in {p.name for p in ledger_partitions()}
    assert ledger_check().startswith("Every balance")


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(tmp_path: Path, old_months):
    older, _ = old_months
    call_row(factories.ClientFactory(), noon(older, 7))

    output = archive("--before", f"{month_back(2):%Y-%m}", "--dry-run")

    assert f"would archive ledger_ledgerentry_p{older:%Y_%m}: 1 rows" in output
    assert f"ledger_ledgerentry_p{older:%Y_%m}" in {p.name for p in ledger_partitions()}
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CARRIED).exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--before", "next"], "would archive the current month"),
        (["--before", "2026-13", "--dry-run"], "give a month as YYYY-MM"),
        (["--before", "0000-01", "--dry-run"], "give a month as YYYY-MM"),
        (["--before", "2020-01"], "--out DIR is required"),
        (["--before", "2020-01", "--out", "/nonexistent/dir"], "no such directory"),
    ],
)
def test_the_current_month_and_bad_arguments_are_refused(args: list[str], message: str):
    if args[1] == "next":
        args = ["--before", f"{next_month(month_back(0)):%Y-%m}"]
    with pytest.raises(CommandError, match=message):
        archive(*args)


@pytest.mark.django_db(transaction=True)
def test_a_second_archive_of_a_month_waits_for_the_first(tmp_path: Path, monkeypatch):
    # given a month with a row, committed, being archived (only this month: the partitions
    # the migration made are this month's and later)
    month, after = month_back(4), month_back(3)
    partition_create(connection, month)
    call_row(factories.ClientFactory(), noon(month, 7))
    first_out, second_out = tmp_path / "first", tmp_path / "second"
    first_out.mkdir()
    second_out.mkdir()
    [partition] = [p for p in ledger_partitions() if p.month == month]
    second: list[BaseException] = []
    started: list[bool] = []
    export = archive_module._export

    def second_archive() -> None:
        try:
            ledger_month_archive(partition=partition, out=second_out, keep_table=False)
        except BaseException as error:
            second.append(error)
        finally:
            connection.close()

    def export_while_a_second_archive_runs(partition, file):  # type: ignore[no-untyped-def]
        if not started:  # the first archive's export (the second's just exports)
            started.append(True)
            runner = threading.Thread(target=second_archive)
            runner.start()
            runner.join()
        return export(partition, file)

    monkeypatch.setattr(archive_module, "_export", export_while_a_second_archive_runs)
    monkeypatch.setattr(archive_module, "DETACH_LOCK_TIMEOUT_MS", 300)
    try:
        # when
        archive("--before", f"{after:%Y-%m}", "--out", str(first_out))

        # then the second waited at the month's lock (and gave up): it exported nothing and
        # booked nothing; the first archived the month once
        assert second and "the ledger stayed locked" in str(second[0])
        assert list(second_out.iterdir()) == []
        assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CARRIED).count() == 1
        assert ledger_check().startswith("Every balance")
    finally:
        with connection.cursor() as cursor:
            for leftover in (month, after):
                cursor.execute(f"DROP TABLE IF EXISTS ledger_ledgerentry_p{leftover:%Y_%m}")


def test_an_archive_that_fails_midway_changes_nothing_and_leaves_no_file(
    tmp_path: Path, old_months, monkeypatch
):
    # given a month whose carried rows cannot be booked (after its export was written)
    older, _ = old_months
    client = factories.ClientFactory()
    call_row(client, noon(older, 7))
    balance = Client.objects.get(pk=client.pk).balance

    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise ArchiveRefused("the carried rows could not be booked")

    monkeypatch.setattr(archive_module, "_book_carried", refuse)

    # when
    with pytest.raises(CommandError, match="could not be booked"):
        archive("--before", f"{month_back(2):%Y-%m}", "--out", str(tmp_path))

    # then the month is still a partition of the ledger, with its row, and no file claims it
    assert f"ledger_ledgerentry_p{older:%Y_%m}" in {p.name for p in ledger_partitions()}
    assert LedgerEntry.objects.filter(client=client, kind=LedgerEntry.Kind.CHARGE).count() == 1
    assert Client.objects.get(pk=client.pk).balance == balance
    assert list(tmp_path.iterdir()) == []


def test_the_month_just_ended_is_refused_until_it_has_closed(monkeypatch):
    # given it is an hour into this month: last month's rows may still be being written
    this_month = month_back(0)
    monkeypatch.setattr(
        "apps.ledger.months.timezone.now", lambda: month_start(this_month) + timedelta(hours=1)
    )

    # when / then
    with pytest.raises(CommandError, match=f"latest allowed now is --before {month_back(1):%Y-%m}"):
        archive("--before", f"{this_month:%Y-%m}", "--dry-run")


@pytest.mark.django_db(transaction=True)
def test_an_archive_behind_a_long_read_gives_up_instead_of_queueing_calls(
    tmp_path: Path, monkeypatch
):
    # given a month with a row, and a reader (an export, say) with the ledger open
    monkeypatch.setattr(archive_module, "DETACH_LOCK_TIMEOUT_MS", 300)
    month, after = month_back(5), month_back(4)
    partition_create(connection, month)
    client = factories.ClientFactory()
    call_row(client, noon(month, 7))
    balance = Client.objects.get(pk=client.pk).balance
    reader = connections.create_connection("default")
    try:
        reader.set_autocommit(False)
        with reader.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM ledger_ledgerentry")

            # when the month is archived
            with pytest.raises(CommandError, match="the ledger stayed locked"):
                archive("--before", f"{after:%Y-%m}", "--out", str(tmp_path))

        # then nothing changed and no file claims the month
        assert f"ledger_ledgerentry_p{month:%Y_%m}" in {p.name for p in ledger_partitions()}
        assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CARRIED).exists()
        assert Client.objects.get(pk=client.pk).balance == balance
        assert list(tmp_path.iterdir()) == []
    finally:
        reader.rollback()
        reader.close()
        with connection.cursor() as cursor:
            for leftover in (month, after):
                cursor.execute(f"DROP TABLE IF EXISTS ledger_ledgerentry_p{leftover:%Y_%m}")
