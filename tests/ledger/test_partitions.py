"""The ledger's monthly partitions on PostgreSQL (issue #15): rows land in their month, beat
keeps months ahead, the default partition raises an alert, a reversal is still booked once,
and the move of migration ledger 0014 turns a plain table into a partitioned one."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import override_settings

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry, LedgerReversal
from apps.ledger.partition_move import table_partition
from apps.ledger.partitions import (
    is_partitioned,
    ledger_partitions,
    ledger_partitions_ensure,
    month_of,
    next_month,
    partition_create,
)
from apps.ledger.services import BookingRefused, ledger_reverse, ledger_topup
from apps.ledger.tasks import partitions_maintain
from tests import factories
from tests.factories import call_row

pytestmark = pytest.mark.django_db


def partition_of(entry: LedgerEntry) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM ledger_ledgerentry WHERE id = %s", [entry.pk]
        )
        return cursor.fetchone()[0]


def months_from_now(n: int) -> date:
    month = month_of(datetime.now(UTC))
    for _ in range(n):
        month = next_month(month)
    return month


def test_the_ledger_is_partitioned_by_month():
    assert is_partitioned()
    names = {p.name for p in ledger_partitions()}
    # the migration made this month's partition and LEDGER_PARTITIONS_AHEAD (3) more
    assert {f"ledger_ledgerentry_p{months_from_now(n):%Y_%m}" for n in range(4)} <= names


def test_each_row_lands_in_the_partition_of_its_month():
    # given
    client = factories.ClientFactory()
    in_two_months = datetime.combine(months_from_now(2), datetime.min.time(), tzinfo=UTC)

    # when
    now = call_row(client, datetime.now(UTC))
    later = call_row(client, in_two_months + timedelta(days=3))
    far = call_row(client, datetime(2041, 3, 10, tzinfo=UTC))

    # then
    assert partition_of(now) == f"ledger_ledgerentry_p{months_from_now(0):%Y_%m}"
    assert partition_of(later) == f"ledger_ledgerentry_p{months_from_now(2):%Y_%m}"
    assert partition_of(far) == "ledger_ledgerentry_default"  # kept, never refused
    assert LedgerEntry.objects.filter(client=client).count() == 3


@override_settings(LEDGER_PARTITIONS_AHEAD=6)
def test_the_beat_task_keeps_months_ahead_and_is_idempotent():
    # when
    first = partitions_maintain()
    second = partitions_maintain()

    # then the months up to six ahead exist, made once
    wanted = [f"ledger_ledgerentry_p{months_from_now(n):%Y_%m}" for n in range(7)]
    assert set(first["created"]) == set(wanted[4:])
    assert second["created"] == []
    assert set(wanted) <= {p.name for p in ledger_partitions()}


def test_rows_in_the_default_partition_raise_an_alert_and_move_into_their_month_later(
    caplog: pytest.LogCaptureFixture,
):
    # given a row of a month without a partition
    client = factories.ClientFactory()
    stray = call_row(client, datetime(2041, 3, 10, tzinfo=UTC))

    # when beat runs
    with caplog.at_level(logging.WARNING, logger="apps.ledger.tasks"):
        outcome = partitions_maintain()

    # then it says so, with the month
    assert outcome["default_partition_rows"] == 1
    assert "ledger_default_partition_rows=1" in caplog.text
    assert "2041-03" in caplog.text

    # and when the month gets its partition, the row moves into it
    assert partition_create(connection, date(2041, 3, 1)) is True
    assert partition_of(stray) == "ledger_ledgerentry_p2041_03"
    assert partitions_maintain()["default_partition_rows"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_month_made_while_calls_write_into_the_default_partition_takes_them_all():
    # given rows of a month without a partition, in the default partition
    client = factories.ClientFactory()
    month = date(2042, 5, 1)
    call_row(client, datetime(2042, 5, 3, tzinfo=UTC))
    written: dict[str, Any] = {}
    writer_done = threading.Event()

    def write_a_row_of_the_month() -> None:
        try:
            written["row"] = call_row(client, datetime(2042, 5, 4, tzinfo=UTC))
        except BaseException as error:
            written["error"] = error
        finally:
            writer_done.set()
            connections.close_all()

    def a_call_arrives_after_the_move(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        result = execute(sql, params, many, context)
        if sql.startswith("WITH moved AS (DELETE") and "writer" not in written:
            written["writer"] = threading.Thread(target=write_a_row_of_the_month)
            written["writer"].start()
            while not writer_done.is_set() and not another_waits_for_a_lock():
                writer_done.wait(0.02)
        return result

    # when its partition is made while another call writes a row of that month
    try:
        with connection.execute_wrapper(a_call_arrives_after_the_move):
            created = partition_create(connection, month)
        written["writer"].join(10)

        # then the partition is made, and both rows are in it
        assert created is True
        assert "error" not in written
        assert LedgerEntry.objects.filter(client=client).count() == 2
        assert {partition_of(row) for row in LedgerEntry.objects.filter(client=client)} == {
            "ledger_ledgerentry_p2042_05"
        }
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS ledger_ledgerentry_p2042_05")


def another_waits_for_a_lock() -> bool:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return bool(cursor.fetchone()[0])


def test_a_reversal_is_claimed_once():
    # given a reversed call
    client = factories.ClientFactory()
    call = call_row(client, datetime.now(UTC))
    refund = ledger_reverse(entry=call, reason="outage", staff_user=None)

    # when / then
    assert LedgerReversal.objects.get(reversed_entry_id=call.pk).reversal_id == refund.pk
    with pytest.raises(BookingRefused, match="already been reversed"):
        ledger_reverse(entry=call, reason="again", staff_user=None)
    # the ORM's names still work
    assert LedgerEntry.objects.get(reverses=call) == refund
    assert LedgerEntry.objects.select_related("reverses").get(pk=refund.pk).reverses == call


@pytest.mark.django_db(transaction=True)
def test_two_reversals_of_one_row_at_once_book_one():
    # given a charged call
    client = factories.ClientFactory()
    ledger_topup(client=client, amount=Decimal("1"), reason="wire", staff_user=None)
    call = call_row(client, datetime.now(UTC))
    first_booked, second_done = threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                ledger_reverse(entry=call, reason="first", staff_user=None)
                first_booked.set()
                wait_until_another_waits_for_a_lock()
            outcomes["first"] = "booked"
        finally:
            connections.close_all()

    def second() -> None:
        try:
            first_booked.wait(10)
            ledger_reverse(entry=call, reason="second", staff_user=None)
            outcomes["second"] = "booked"
        except BookingRefused as refused:
            outcomes["second"] = str(refused)
        finally:
            second_done.set()
            connections.close_all()

    # when the second starts while the first has booked but not committed
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # then one reversal, the balance moved once
    assert outcomes["first"] == "booked"
    assert "already been reversed" in outcomes["second"]
    assert LedgerEntry.objects.filter(reverses=call).count() == 1
    client.refresh_from_db()
    assert client.balance == Decimal("1")


def wait_until_another_waits_for_a_lock(timeout: float = 10.0) -> None:
    """Until another session of this database is blocked on a lock (the second reversal)."""
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    with connection.cursor() as cursor:
        while datetime.now(UTC) < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # fresh within a transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return
            cursor.execute("SELECT pg_sleep(0.02)")
    raise AssertionError("the second reversal never waited for the first")


PROBE = "ledger_move_probe"


def make_old_shaped_table(client: Client) -> None:
    """A plain table shaped like the ledger before 0014: identity key, a unique `reverses`
    referring to itself, a foreign key out and one in, a check, plain and partial indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE TABLE {PROBE} (
              id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
              client_id bigint NOT NULL REFERENCES accounts_client (id)
                DEFERRABLE INITIALLY DEFERRED,
              amount numeric(14, 4) NOT NULL CHECK (amount > -1000),
              kind varchar(20) NOT NULL,
              reverses_id bigint UNIQUE REFERENCES {PROBE} (id),
              created_at timestamptz NOT NULL)
            """
        )
        cursor.execute(f"CREATE INDEX probe_by_time ON {PROBE} (created_at, id)")
        cursor.execute(f"CREATE INDEX probe_by_kind ON {PROBE} (kind) WHERE kind <> 'charge'")
        cursor.execute(f"CREATE TABLE {PROBE}_note (entry_id bigint REFERENCES {PROBE} (id))")
        cursor.execute(
            f"INSERT INTO {PROBE} (client_id, amount, kind, created_at) "  # noqa: S608
            "SELECT %s, -0.01, CASE WHEN g %% 10 = 0 THEN 'topup' ELSE 'charge' END, "
            "timestamptz '2026-03-01 00:00:00+00' + interval '1 hour' * g "
            "FROM generate_series(0, 24 * 100 - 1) g",
            [client.pk],
        )
        cursor.execute(f"INSERT INTO {PROBE}_note VALUES (1)")  # noqa: S608


def probe_figures() -> tuple[int, Decimal, int]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), sum(amount), max(id) FROM {PROBE}")  # noqa: S608
        return cursor.fetchone()


@override_settings(ACCOUNTING_TIME_ZONE="UTC")
def test_the_move_partitions_a_plain_table_with_rows_of_several_months():
    # given a plain table with 2,400 rows, hourly from March to 8 June 2026
    make_old_shaped_table(factories.ClientFactory())
    before = probe_figures()

    # when
    moved = table_partition(connection, table=PROBE, ahead=1)

    # then every row is kept, each in the partition of its month
    assert moved is True
    assert is_partitioned(connection, PROBE)
    assert probe_figures() == before
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text, to_char(min(created_at) AT TIME ZONE 'UTC', "  # noqa: S608
            f"'YYYY_MM'), count(*) FROM {PROBE} GROUP BY 1 ORDER BY 1"
        )
        placed = cursor.fetchall()
        assert placed == [
            (f"{PROBE}_p2026_03", "2026_03", 31 * 24),
            (f"{PROBE}_p2026_04", "2026_04", 30 * 24),
            (f"{PROBE}_p2026_05", "2026_05", 31 * 24),
            (f"{PROBE}_p2026_06", "2026_06", 8 * 24),
        ]
        # the months up to the next one exist (empty), and the default partition
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [PROBE],
        )
        partitions = {name for (name,) in cursor.fetchall()}
        assert f"{PROBE}_p{months_from_now(1):%Y_%m}" in partitions
        assert f"{PROBE}_default" in partitions
        # the same indexes by name, the key with created_at, the check and the key out kept
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [PROBE])
        indexes = dict(cursor.fetchall())
        assert set(indexes) == {f"{PROBE}_pkey", "probe_by_time", "probe_by_kind"}
        assert indexes[f"{PROBE}_pkey"].endswith("(id, created_at)")
        assert indexes["probe_by_kind"].endswith("WHERE ((kind)::text <> 'charge'::text)")
        cursor.execute(
            "SELECT contype, confrelid::regclass::text FROM pg_constraint "
            "WHERE conrelid = %s::regclass ORDER BY 1",
            [PROBE],
        )
        assert cursor.fetchall() == [("c", "-"), ("f", "accounts_client"), ("p", "-")]
        # nothing refers to it any more (a partitioned table's key holds created_at)
        cursor.execute("SELECT count(*) FROM pg_constraint WHERE confrelid = %s::regclass", [PROBE])
        assert cursor.fetchone()[0] == 0
        # the sequence goes on where the identity stopped
        cursor.execute(
            f"INSERT INTO {PROBE} (client_id, amount, kind, created_at) "  # noqa: S608
            f"SELECT client_id, 1, 'topup', now() FROM {PROBE} LIMIT 1 RETURNING id"
        )
        assert cursor.fetchone()[0] == before[2] + 1
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [PROBE])
        assert cursor.fetchone()[0] == f"public.{PROBE}_id_seq"

    # and a second run changes nothing
    assert table_partition(connection, table=PROBE, ahead=1) is False


# On SQLite, in a process of its own: one table, and a reversal still booked once.
SQLITE_LEDGER = """
import django
django.setup()
from datetime import UTC, datetime
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from apps.ledger.partitions import ledger_partitions_ensure
from apps.ledger.services import BookingRefused, ledger_reverse
from tests import factories
from tests.factories import call_row

call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'ledger_ledgerentry%'")
    print("tables", sorted(name for (name,) in cursor.fetchall()))
call = call_row(factories.ClientFactory(), datetime.now(UTC))
ledger_reverse(entry=call, reason="outage", staff_user=None)
try:
    ledger_reverse(entry=call, reason="again", staff_user=None)
except BookingRefused as refused:
    print("refused", refused)
print("partitions", ledger_partitions_ensure())
try:
    call_command("ledger_archive", "--before", "2026-01", "--dry-run")
except CommandError as error:
    print("archive", error)
"""


def test_sqlite_keeps_one_table_and_books_a_reversal_once(tmp_path: Path):
    # given a make run database: SQLite
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }

    # when
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_LEDGER],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    # then
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "tables ['ledger_ledgerentry']" in lines
    assert any(line.startswith("refused ") and "already been reversed" in line for line in lines)
    assert "partitions []" in lines
    assert any(line.startswith("archive ") and "not partitioned" in line for line in lines)


def test_beat_gives_up_on_a_month_while_a_long_read_holds_the_ledger_and_makes_it_later(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    # given a reader (an export, say) with the ledger open in a transaction of its own
    monkeypatch.setattr("apps.ledger.partitions.PARTITION_LOCK_TIMEOUT_MS", 300)
    wanted = f"ledger_ledgerentry_p{months_from_now(4):%Y_%m}"
    reader = connections.create_connection("default")
    try:
        with reader.cursor() as cursor:
            reader.set_autocommit(False)
            cursor.execute("SELECT count(*) FROM ledger_ledgerentry")

            # when beat wants one more month ahead
            with caplog.at_level(logging.WARNING, logger="apps.ledger.partitions"):
                blocked = ledger_partitions_ensure(ahead=4)

            # then it does not wait for the reader (calls would queue behind it): it says so
            assert blocked == []
            assert wanted not in {p.name for p in ledger_partitions()}
            assert f"ledger partition {wanted} not made now" in caplog.text
    finally:
        reader.rollback()
        reader.close()

    # and once the reader is done, the next run makes the month
    assert ledger_partitions_ensure(ahead=4) == [wanted]
