"""Moving a plain ledger table over to monthly partitions (migration ledger 0014).

Writers wait only for the last step. Three steps, each its own transaction:

1. A short lock that waits for the writers in flight, to read the highest id M: every row
   with an id up to M is committed (ids come from one sequence, taken at insert).
2. No lock on the old table: a new partitioned table (partitions for every month from the
   oldest row to LEDGER_PARTITIONS_AHEAD months from now, and the default one), its foreign
   keys, the rows with ids up to M copied month by month (rows never change: the ledger is
   append-only), then the primary key (id, created_at) and every index of the old table,
   under temporary names.
3. Writers wait (reads go on): the rows written since step 1 are copied, the sequence's
   position carried over, the foreign keys that point AT the ledger dropped (a partitioned
   table's unique key must hold created_at), the old table dropped and the new one given
   its name, its indexes theirs. Then VACUUM (ANALYZE), which calls need not wait for.

Unique constraints of the old table other than its primary key are not carried over: on the
ledger that is `reverses`, whose uniqueness LedgerReversal now holds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.db import DatabaseError, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from apps.ledger.partitions import (
    default_partition_create,
    is_partitioned,
    month_of,
    month_start,
    months,
    next_month,
    partition_bounds_sql,
    partition_name,
)

_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?\S+ (USING .*)$")


@dataclass(frozen=True)
class _Move:
    """What step 1 learns: which rows step 2 copies, and the months it makes partitions for."""

    table: str
    last_id: int  # every row with an id up to it is committed
    first: date  # the oldest row's month (this month for an empty table)
    last: date  # the last month with a partition: `ahead` from now, or the newest row's
    newest: date | None  # the newest row's month; None for an empty table
    started: float  # time.monotonic() at the start, for the progress lines

    @property
    def new(self) -> str:
        return f"{self.table}_new"

    @property
    def new_seq(self) -> str:
        return f"{self.table}_id_seq_new"

    def elapsed(self) -> float:
        return time.monotonic() - self.started


def table_partition(
    db: BaseDatabaseWrapper,
    *,
    table: str,
    ahead: int,
    in_swap: Callable[[CursorWrapper], None] | None = None,
    say: Callable[[str], None] = lambda line: None,
) -> bool:
    """Replace the plain table `table` by one partitioned by month of created_at, with the
    same rows, columns, checks, foreign keys, indexes (same names) and id sequence. `in_swap`
    runs in the last step's transaction, after the swap. False if already partitioned."""
    if db.vendor != "postgresql" or is_partitioned(db, table):
        return False
    move = _committed_rows_read(db, table=table, ahead=ahead, started=time.monotonic())
    say(
        f"rows up to id {move.last_id:,}; "
        f"partitions {move.first:%Y-%m} to {move.last:%Y-%m} and default"
    )
    _partitioned_table_create(db, move)
    _committed_rows_copy(db, move, say)
    indexes = _keys_and_indexes_create(db, move, say)
    swap_started = time.monotonic()
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        _swap(cursor, db=db, move=move, indexes=indexes, say=say)
        if in_swap is not None:
            in_swap(cursor)
    say(f"  swapped: writers waited {time.monotonic() - swap_started:.1f} s")
    with db.cursor() as cursor:
        # VACUUM marks the copied pages all-visible, so index-only scans skip the table from
        # the first read on (ANALYZE alone left every page to be fetched). A caller's
        # transaction (a test) allows only ANALYZE.
        verb = "ANALYZE" if db.in_atomic_block else "VACUUM (ANALYZE)"
        cursor.execute(f"{verb} {db.ops.quote_name(table)}")
    say(f"partitioned in {move.elapsed():.0f} s")
    return True


def _committed_rows_read(
    db: BaseDatabaseWrapper, *, table: str, ahead: int, started: float
) -> _Move:
    """Step 1: a short lock that waits for the writers in flight, to read the highest id."""
    q = db.ops.quote_name
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {q(table)} IN EXCLUSIVE MODE")
        bounds = f"SELECT max(id), min(created_at), max(created_at) FROM {q(table)}"  # noqa: S608
        cursor.execute(bounds)
        last_id, oldest, newest = cursor.fetchone()
    now_month = month_of(datetime.now(UTC))
    first = month_of(oldest) if oldest is not None else now_month
    newest_month = month_of(newest) if newest is not None else None
    last = now_month
    for _ in range(ahead):
        last = next_month(last)
    return _Move(
        table=table,
        last_id=last_id or 0,
        first=first,
        last=max(last, newest_month or first),
        newest=newest_month,
        started=started,
    )


def _partitioned_table_create(db: BaseDatabaseWrapper, move: _Move) -> None:
    """Step 2 begins: the new table with its sequence, foreign keys and partitions."""
    q, table, new = db.ops.quote_name, move.table, move.new
    with db.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {q(new)}")  # a previous run that failed midway
        cursor.execute(f"DROP SEQUENCE IF EXISTS {q(move.new_seq)}")
        cursor.execute(
            f"CREATE TABLE {q(new)} (LIKE {q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (created_at)"
        )
        cursor.execute(f"CREATE SEQUENCE {q(move.new_seq)} AS bigint")
        cursor.execute(
            f"ALTER TABLE {q(new)} ALTER COLUMN id SET DEFAULT nextval(%s)", [move.new_seq]
        )
        for name, definition in _foreign_keys_of(cursor, table):
            cursor.execute(f"ALTER TABLE {q(new)} ADD CONSTRAINT {q(name)} {definition}")
        for month in months(move.first, move.last):
            cursor.execute(
                f"CREATE TABLE {q(partition_name(month, table))} PARTITION OF {q(new)} "
                f"{partition_bounds_sql(db, month)}"
            )
        default_partition_create(db, new)
        cursor.execute(f"ALTER TABLE {q(new + '_default')} RENAME TO {q(table + '_default')}")


def _committed_rows_copy(db: BaseDatabaseWrapper, move: _Move, say: Callable[[str], None]) -> None:
    """Step 2, no lock on the old table: the rows with ids up to the highest read in step 1,
    month by month (rows never change: the ledger is append-only)."""
    q, new, table = db.ops.quote_name, move.new, move.table
    with db.cursor() as cursor:
        if db.in_atomic_block:  # a caller's transaction (a test): check the keys per statement
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        unchecked = _skip_key_checks(db)
        try:
            for month in months(move.first, move.newest) if move.newest is not None else ():
                cursor.execute(
                    f"INSERT INTO {q(new)} SELECT * FROM {q(table)} "  # noqa: S608 (our names)
                    "WHERE created_at >= %s AND created_at < %s AND id <= %s",
                    [month_start(month), month_start(next_month(month)), move.last_id],
                )
                say(f"  {month:%Y-%m}: {cursor.rowcount:,} rows ({move.elapsed():.0f} s)")
        finally:
            if unchecked:
                cursor.execute("RESET session_replication_role")


def _keys_and_indexes_create(
    db: BaseDatabaseWrapper, move: _Move, say: Callable[[str], None]
) -> list[tuple[str, str, str]]:
    """Step 2 ends: the primary key (id, created_at) and every index of the old table, under
    temporary names (the old table still holds theirs). Returns the indexes made."""
    q, new = db.ops.quote_name, move.new
    with db.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(
            f"ALTER TABLE {q(new)} ADD CONSTRAINT {q(move.table + '_pkey_new')} "
            "PRIMARY KEY (id, created_at)"
        )
        indexes = _indexes_of(cursor, move.table)
        for name, unique, using in indexes:
            cursor.execute(f"CREATE {unique}INDEX {q(name + '_new')} ON {q(new)} {using}")
            say(f"  index {name} ({move.elapsed():.0f} s)")
    return indexes


def _swap(
    cursor: CursorWrapper,
    *,
    db: BaseDatabaseWrapper,
    move: _Move,
    indexes: list[tuple[str, str, str]],
    say: Callable[[str], None],
) -> None:
    """Step 3, in the transaction of `cursor`; writers wait from its lock on. The rows written
    since step 1 and the sequence's position are carried over, the old table is dropped and
    the new one, its sequence, key and indexes take their names."""
    q, table, new = db.ops.quote_name, move.table, move.new
    cursor.execute(f"LOCK TABLE {q(table)} IN EXCLUSIVE MODE")
    cursor.execute(
        f"INSERT INTO {q(new)} SELECT * FROM {q(table)} WHERE id > %s",  # noqa: S608
        [move.last_id],
    )
    say(f"  written meanwhile: {cursor.rowcount:,} rows")
    _sequence_carry(cursor, db=db, move=move)
    _references_drop(cursor, db=db, table=table)
    cursor.execute(f"DROP TABLE {q(table)}")
    cursor.execute(f"ALTER TABLE {q(new)} RENAME TO {q(table)}")
    cursor.execute(f"ALTER SEQUENCE {q(move.new_seq)} RENAME TO {q(table + '_id_seq')}")
    cursor.execute(f"ALTER SEQUENCE {q(table + '_id_seq')} OWNED BY {q(table)}.id")
    cursor.execute(
        f"ALTER TABLE {q(table)} RENAME CONSTRAINT {q(table + '_pkey_new')} TO {q(table + '_pkey')}"
    )
    for name, _, _ in indexes:
        cursor.execute(f"ALTER INDEX {q(name + '_new')} RENAME TO {q(name)}")


def _sequence_carry(cursor: CursorWrapper, *, db: BaseDatabaseWrapper, move: _Move) -> None:
    """The new sequence goes on where the old one stands (or past the highest id, for a table
    whose ids come from no sequence of its own)."""
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [move.table])
    (old_seq,) = cursor.fetchone()
    if old_seq is not None:
        cursor.execute(f"SELECT last_value, is_called FROM {old_seq}")  # noqa: S608
        position, called = cursor.fetchone()
    else:
        new = db.ops.quote_name(move.new)
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {new}")  # noqa: S608
        position, called = max(cursor.fetchone()[0], 1), True
    cursor.execute("SELECT setval(%s, %s, %s)", [move.new_seq, position, called])


def _references_drop(cursor: CursorWrapper, *, db: BaseDatabaseWrapper, table: str) -> None:
    """The foreign keys that point AT the table: a partitioned table's unique key must hold
    created_at, so no key of (id) alone can reference it."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname FROM pg_constraint "
        "WHERE confrelid = %s::regclass AND contype = 'f'",
        [table],
    )
    for referring, name in cursor.fetchall():
        cursor.execute(f"ALTER TABLE {referring} DROP CONSTRAINT {db.ops.quote_name(name)}")


def _skip_key_checks(db: BaseDatabaseWrapper) -> bool:
    """Copy without checking each row's foreign keys, where this role may (a superuser, or
    rds_superuser on RDS): the rows come from a table whose same keys hold, and its keys keep
    the rows they refer to from being deleted meanwhile. Checked row by row, the copy takes
    about twelve times as long (measured: 1 M rows with two keys, 3.3 s against 40.5 s)."""
    try:
        with transaction.atomic(using=db.alias), db.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _foreign_keys_of(cursor: CursorWrapper, table: str) -> list[tuple[str, str]]:
    """The table's foreign keys to OTHER tables (a key to itself cannot reference a
    partitioned table's (id, created_at))."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'f' AND confrelid <> conrelid "
        "ORDER BY conname",
        [table],
    )
    return list(cursor.fetchall())


def _indexes_of(cursor: CursorWrapper, table: str) -> list[tuple[str, str, str]]:
    """(name, 'UNIQUE ' or '', 'USING ...') of each index that backs no constraint."""
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
        [table],
    )
    found = []
    for (definition,) in cursor.fetchall():
        match = _INDEX.match(definition)
        if match is None:
            raise ValueError(f"cannot read the index definition {definition!r}")
        found.append((match[2], match[1] or "", match[3]))
    return found
