"""Archiving old months of the partitioned ledger (manage.py ledger_archive, issue #15).

A month partition is exported whole to a gzip CSV (COPY, the table's own columns, oldest
first) beside a manifest (rows, sums of amount, cost and price, sha256 of the file), the file
read back and checked against the sums, then the partition DETACHED and dropped (or kept as
a plain table). In the same transaction each client whose archived rows moved its balance
gets one row of kind `carried` for their sum, dated the first instant after the month: its
balance stays the sum of its rows (manage.py ledger_check), and balances never change. The
daily rollup (LedgerDay) is left as it is, so summaries of archived months still answer;
`carried` rows are not revenue and the rollup ignores them, like top-ups.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.core.money import ZERO
from apps.ledger.models import LedgerEntry
from apps.ledger.partitions import TABLE, Partition, month_of, partition_create

# How long the detach waits for the ledger's lock before the month's archive gives up.
DETACH_LOCK_TIMEOUT_MS = 5000
LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of a lock_timeout


class ArchiveRefused(Exception):
    """The archive would not be right (the export does not match the rows, say)."""


@dataclass
class MonthFigures:
    rows: int = 0
    amount: Decimal = ZERO
    cost: Decimal = ZERO
    price: Decimal = ZERO
    carried: dict[int, Decimal] = field(default_factory=dict)  # client id -> sum of amount


@dataclass(frozen=True)
class ArchivedMonth:
    partition: str
    month: str
    rows: int
    amount: str
    cost: str
    price: str
    file: str
    sha256: str
    carried_rows: int
    table_kept: str | None


def month_figures(partition: Partition) -> MonthFigures:
    """The partition's row count and sums, and each client's sum of amount."""
    name = connection.ops.quote_name(partition.name)
    figures = MonthFigures()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT client_id, count(*), sum(amount), sum(cost), sum(price) FROM {name} "  # noqa: S608
            "GROUP BY client_id ORDER BY client_id"
        )
        for client_id, rows, amount, cost, price in cursor.fetchall():
            figures.rows += rows
            figures.amount += amount
            figures.cost += cost
            figures.price += price
            if amount:
                figures.carried[client_id] = amount
    return figures


def ledger_month_archive(*, partition: Partition, out: Path, keep_table: bool) -> ArchivedMonth:
    """Export one month partition, check the file, book the carried balances and detach it,
    all in one transaction (writers of that month wait; other months' do not). If anything
    fails, the transaction is rolled back and the month's files are removed: a file on disk
    always names a month that is archived."""
    file = out / f"{partition.name}.csv.gz"
    manifest = out / f"{partition.name}.manifest.json"
    try:
        try:
            return _month_archive(partition, file=file, manifest=manifest, keep_table=keep_table)
        except OperationalError as error:
            if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            raise ArchiveRefused(
                f"{partition.name}: the ledger stayed locked for "
                f"{DETACH_LOCK_TIMEOUT_MS / 1000:g} s (a long read, or another archive of the "
                "month), and calls would have queued behind the detach; nothing of this month "
                "was archived. Run the command again."
            ) from error
    except BaseException:
        for written in (file, manifest, *(f.with_name(f.name + ".part") for f in (file, manifest))):
            written.unlink(missing_ok=True)
        raise


def _month_archive(
    partition: Partition, *, file: Path, manifest: Path, keep_table: bool
) -> ArchivedMonth:
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The carried rows' keys are checked as they are written: a partition with
            # checks pending (a caller's earlier month, in its transaction) cannot be dropped.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # The detach (and the next month's partition, if the carried rows need one) locks
            # the whole ledger: behind a long read (an export, a summary) every call would
            # queue behind it. Give up instead, and the month's transaction and files with it.
            cursor.execute(
                "SELECT set_config('lock_timeout', %s, true)", [f"{DETACH_LOCK_TIMEOUT_MS}ms"]
            )
            # Nothing is added to the month while it is exported and detached, and a second
            # archive of the same month waits for this one (SHARE would let both export and
            # book the month's carried rows; SHARE ROW EXCLUSIVE conflicts with itself), then
            # fails: the partition is gone.
            name = connection.ops.quote_name(partition.name)
            cursor.execute(f"LOCK TABLE {name} IN SHARE ROW EXCLUSIVE MODE")
        figures = month_figures(partition)
        columns = _export(partition, file)
        digest = _verify(file, figures)
        carried = _book_carried(partition, figures, digest)
        kept = _detach(partition, keep_table=keep_table)
        archived = ArchivedMonth(
            partition=partition.name,
            month=f"{partition.month:%Y-%m}",
            rows=figures.rows,
            amount=str(figures.amount),
            cost=str(figures.cost),
            price=str(figures.price),
            file=file.name,
            sha256=digest,
            carried_rows=carried,
            table_kept=kept,
        )
        described = {
            **asdict(archived),
            "from": partition.start.isoformat(),
            "to": partition.end.isoformat(),
            "columns": columns,
            "carried": {str(client): str(amount) for client, amount in figures.carried.items()},
            "archived_at": timezone.now().isoformat(),
        }
        _write_atomically(manifest, json.dumps(described, indent=2))
    return archived


def _export(partition: Partition, file: Path) -> list[str]:
    """The partition's rows, oldest first, as a gzip CSV with a header; returns the columns."""
    name = connection.ops.quote_name(partition.name)
    partial = file.with_name(file.name + ".part")
    sql = f"COPY (SELECT * FROM {name} ORDER BY created_at, id) TO STDOUT (FORMAT csv, HEADER)"  # noqa: S608
    with (
        connection.cursor() as wrapper,
        wrapper.cursor.copy(sql) as copy,
        gzip.open(partial, "wb", compresslevel=6) as out,
    ):
        for chunk in copy:
            out.write(chunk)
    os.replace(partial, file)
    with gzip.open(file, "rt", newline="") as read:
        return next(csv.reader(read))


def _verify(file: Path, figures: MonthFigures) -> str:
    """Read the file back: its rows and sums must be the partition's. Returns its sha256."""
    rows, amount, cost, price = 0, ZERO, ZERO, ZERO
    with gzip.open(file, "rt", newline="") as read:
        for row in csv.DictReader(read):
            rows += 1
            amount += Decimal(row["amount"])
            cost += Decimal(row["cost"])
            price += Decimal(row["price"])
    if (rows, amount, cost, price) != (figures.rows, figures.amount, figures.cost, figures.price):
        raise ArchiveRefused(
            f"{file.name} holds {rows} rows (amount {amount}, cost {cost}, price {price}) but the "
            f"partition {figures.rows} (amount {figures.amount}, cost {figures.cost}, price "
            f"{figures.price}); nothing was detached"
        )
    digest = hashlib.sha256()
    with file.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _book_carried(partition: Partition, figures: MonthFigures, digest: str) -> int:
    """One `carried` row per client whose archived rows moved its balance, dated the first
    instant after the month (in the month after it, which gets its partition if need be)."""
    if not figures.carried:
        return 0
    partition_create(connection, month_of(partition.end))
    month = f"{partition.month:%Y-%m}"
    rows = [
        LedgerEntry(
            request_id=f"carried-{month}-{client_id}",
            kind=LedgerEntry.Kind.CARRIED,
            client_id=client_id,
            status=LedgerEntry.Status.SUCCEEDED,
            amount=amount,
            currency=settings.ACCOUNTING_CURRENCY,
            channel=LedgerEntry.Channel.STAFF,
            reason=f"The balance of this client's ledger rows of {month}, archived by "
            f"ledger_archive ({partition.name}.csv.gz, sha256 {digest}).",
            created_at=partition.end,
        )
        for client_id, amount in sorted(figures.carried.items())
    ]
    LedgerEntry.objects.bulk_create(rows)
    return len(rows)


def _detach(partition: Partition, *, keep_table: bool) -> str | None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {quote(TABLE)} DETACH PARTITION {quote(partition.name)}")
        if not keep_table:
            cursor.execute(f"DROP TABLE {quote(partition.name)}")
            return None
        kept = partition.name.replace(TABLE, "ledger_archived", 1)
        cursor.execute(f"ALTER TABLE {quote(partition.name)} RENAME TO {quote(kept)}")
        return kept


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(path.name + ".part")
    partial.write_text(text + "\n", encoding="utf-8")
    os.replace(partial, path)
