"""The ledger's monthly partitions on PostgreSQL (issue #15).

`ledger_ledgerentry` is partitioned by RANGE of created_at, one partition per accounting month
(ACCOUNTING_TIME_ZONE) named `ledger_ledgerentry_pYYYY_MM`, plus a DEFAULT partition that takes
any row whose month has no partition yet, so no insert is ever refused. Celery beat runs
ledger.partitions_maintain, which keeps LEDGER_PARTITIONS_AHEAD months ahead and warns when the
default partition holds rows. Native partitions kept by beat rather than pg_partman: stock
PostgreSQL on every install and every managed service, no extension to install or upgrade,
and the code that creates partitions is tested with the rest.

The database primary key is (id, created_at): a unique index of a partitioned table must hold
the partition key. Django still treats `id` as the key; ids come from one sequence. SQLite
keeps one plain table: every function here is a no-op there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "ledger_ledgerentry"
DEFAULT_PARTITION = f"{TABLE}_default"
_NAME = re.compile(r"^ledger_ledgerentry_p(\d{4})_(\d{2})$")
# Any constant shared by every process that creates partitions (beat, migration, archive).
_LOCK_KEY = 0x1ED6E4
# How long making a partition waits for the ledger's lock before giving up until the next run.
PARTITION_LOCK_TIMEOUT_MS = 5000

logger = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Partition:
    name: str
    month: date  # the first day of its accounting month

    @property
    def start(self) -> datetime:
        return month_start(self.month)

    @property
    def end(self) -> datetime:
        return month_start(next_month(self.month))


def partition_name(month: date, table: str = TABLE) -> str:
    return f"{table}_p{month:%Y_%m}"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_of(moment: datetime) -> date:
    local = moment.astimezone(ZoneInfo(settings.ACCOUNTING_TIME_ZONE))
    return date(local.year, local.month, 1)


def month_start(month: date) -> datetime:
    """The instant an accounting month begins."""
    return datetime.combine(month, time(), tzinfo=ZoneInfo(settings.ACCOUNTING_TIME_ZONE))


def months(first: date, last: date) -> Iterator[date]:
    """Every month from `first` to `last`, both included."""
    month = date(first.year, first.month, 1)
    while month <= last:
        yield month
        month = next_month(month)


def is_partitioned(db: BaseDatabaseWrapper = connection, table: str = TABLE) -> bool:
    if db.vendor != "postgresql":
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def ledger_partitions() -> list[Partition]:
    """The ledger's month partitions, oldest first (not the default one)."""
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = [(_NAME.match(name), name) for name in names]
    return sorted(
        (Partition(name, date(int(m[1]), int(m[2]), 1)) for m, name in found if m is not None),
        key=lambda partition: partition.month,
    )


def partition_bounds_sql(db: BaseDatabaseWrapper, month: date) -> str:
    """`FOR VALUES FROM (...) TO (...)` of a month, its instants as literals (DDL takes no
    parameters); both are our own datetimes, never input."""
    start, end = month_start(month).isoformat(), month_start(next_month(month)).isoformat()
    return f"FOR VALUES FROM ('{start}') TO ('{end}')"


def partition_create(
    db: BaseDatabaseWrapper, month: date, table: str = TABLE, default: str | None = None
) -> bool:
    """Create `month`'s partition of `table` unless it exists; True if it was created.

    Rows of that month already in the default partition move into the new one, in the same
    transaction (PostgreSQL refuses a partition whose rows the default partition holds)."""
    if not is_partitioned(db, table):
        return False
    default = default or f"{table}_default"
    name = partition_name(month, table)
    start, end = month_start(month), month_start(next_month(month))
    quote = db.ops.quote_name
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        # CREATE ... PARTITION OF takes the whole ledger's strongest lock: behind a long read
        # (an export) every call would queue behind it. Give up instead; beat makes months
        # LEDGER_PARTITIONS_AHEAD ahead, so the next run has time to try again.
        cursor.execute(
            "SELECT set_config('lock_timeout', %s, true)", [f"{PARTITION_LOCK_TIMEOUT_MS}ms"]
        )
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
        has_default = cursor.fetchone()[0]
        stray = False
        if has_default:
            # Writers wait from here to the commit (CREATE ... PARTITION OF locks the table
            # anyway): a row of the month written into the default partition after the look
            # below, or after the move, makes PostgreSQL refuse the partition, and with calls
            # coming in all the time (a month beat never made) it would be refused every run.
            cursor.execute(f"LOCK TABLE {quote(table)} IN SHARE ROW EXCLUSIVE MODE")
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {quote(default)} "  # noqa: S608 (our names)
                "WHERE created_at >= %s AND created_at < %s)",
                [start, end],
            )
            stray = cursor.fetchone()[0]
        bounds = partition_bounds_sql(db, month)
        if not stray:
            cursor.execute(f"CREATE TABLE {quote(name)} PARTITION OF {quote(table)} {bounds}")
            return True
        cursor.execute(
            f"CREATE TABLE {quote(name)} (LIKE {quote(table)} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {quote(default)} "  # noqa: S608 (our names)
            "WHERE created_at >= %s AND created_at < %s RETURNING *) "
            f"INSERT INTO {quote(name)} SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(f"ALTER TABLE {quote(table)} ATTACH PARTITION {quote(name)} {bounds}")
    return True


def default_partition_create(db: BaseDatabaseWrapper, table: str = TABLE) -> None:
    quote = db.ops.quote_name
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {quote(table + '_default')} "
            f"PARTITION OF {quote(table)} DEFAULT"
        )


def ledger_partitions_ensure(*, ahead: int | None = None, today: date | None = None) -> list[str]:
    """Create the partitions of this month and the `ahead` next ones that are missing (and
    the default partition); returns the names created. Idempotent; safe to run from several
    processes at once."""
    if not is_partitioned():
        return []
    ahead = settings.LEDGER_PARTITIONS_AHEAD if ahead is None else ahead
    current = month_of(datetime.now(ZoneInfo("UTC"))) if today is None else today.replace(day=1)
    last = current
    for _ in range(ahead):
        last = next_month(last)
    default_partition_create(connection)
    created = []
    for month in months(current, last):
        try:
            made = partition_create(connection, month)
        except OperationalError as error:  # lock_timeout: a long reader held the ledger
            logger.warning(
                "ledger partition %s not made now, tried again next run: %s",
                partition_name(month),
                error,
            )
            continue
        if made:
            created.append(partition_name(month))
    return created


@dataclass(frozen=True)
class DefaultPartitionRows:
    rows: int
    months: list[date]


def ledger_default_partition_rows() -> DefaultPartitionRows:
    """The rows the default partition holds (they belong to months without a partition),
    and which months they are of. Zero on a healthy ledger."""
    if not is_partitioned():
        return DefaultPartitionRows(0, [])
    tz = settings.ACCOUNTING_TIME_ZONE
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT date_trunc('month', created_at AT TIME ZONE %s)::date, count(*) "  # noqa: S608
            f"FROM {connection.ops.quote_name(DEFAULT_PARTITION)} GROUP BY 1 ORDER BY 1",
            [tz],
        )
        found = cursor.fetchall()
    return DefaultPartitionRows(sum(n for _, n in found), [month for month, _ in found])
