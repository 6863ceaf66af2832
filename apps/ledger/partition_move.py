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
   its name, its indexes theirs. Then ANALYZE.

Unique constraints of the old table other than its primary key are not carried over: on the
ledger that is `reverses`, whose uniqueness LedgerReversal now holds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

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
    q = db.ops.quote_name
    new, new_seq = f"{table}_new", f"{table}_id_seq_new"
    started = time.monotonic()

    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {q(table)} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT max(id), min(created_at), max(created_at) FROM {q(table)}")  # noqa: S608
        last_id, oldest, newest = cursor.fetchone()
    last_id = last_id or 0
    now_month = month_of(datetime.now(UTC))
    first = month_of(oldest) if oldest is not None else now_month
    newest_month = month_of(newest) if newest is not None else first
    last = now_month
    for _ in range(ahead):
        last = next_month(last)
    last = max(last, newest_month)
    say(f"rows up to id {last_id:,}; partitions {first:%Y-%m} to {last:%Y-%m} and default")

    with db.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {q(new)}")  # a previous run that failed midway
        cursor.execute(f"DROP SEQUENCE IF EXISTS {q(new_seq)}")
        cursor.execute(
            f"CREATE TABLE {q(new)} (LIKE {q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            "INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (created_at)"
        )
        cursor.execute(f"CREATE SEQUENCE {q(new_seq)} AS bigint")
        cursor.execute(f"ALTER TABLE {q(new)} ALTER COLUMN id SET DEFAULT nextval(%s)", [new_seq])
        for name, definition in _foreign_keys_of(cursor, table):
            cursor.execute(f"ALTER TABLE {q(new)} ADD CONSTRAINT {q(name)} {definition}")
        for month in months(first, last):
            cursor.execute(
                f"CREATE TABLE {q(partition_name(month, table))} PARTITION OF {q(new)} "
                f"{partition_bounds_sql(db, month)}"
            )
        default_partition_create(db, new)
        cursor.execute(f"ALTER TABLE {q(new + '_default')} RENAME TO {q(table + '_default')}")
        if db.in_atomic_block:  # a caller's transaction (a test): check the keys per statement
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        unchecked = _skip_key_checks(db)
        try:
            for month in months(first, newest_month) if oldest is not None else ():
                cursor.execute(
                    f"INSERT INTO {q(new)} SELECT * FROM {q(table)} "  # noqa: S608 (our names)
                    "WHERE created_at >= %s AND created_at < %s AND id <= %s",
                    [month_start(month), month_start(next_month(month)), last_id],
                )
                elapsed = time.monotonic() - started
                say(f"  {month:%Y-%m}: {cursor.rowcount:,} rows ({elapsed:.0f} s)")
        finally:
            if unchecked:
                cursor.execute("RESET session_replication_role")
        cursor.execute("SET maintenance_work_mem = '256MB'")
        cursor.execute(
            f"ALTER TABLE {q(new)} ADD CONSTRAINT {q(table + '_pkey_new')} "
            "PRIMARY KEY (id, created_at)"
        )
        indexes = _indexes_of(cursor, table)
        for name, unique, using in indexes:
            cursor.execute(f"CREATE {unique}INDEX {q(name + '_new')} ON {q(new)} {using}")
            say(f"  index {name} ({time.monotonic() - started:.0f} s)")

    swap_started = time.monotonic()
    with transaction.atomic(using=db.alias), db.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {q(table)} IN EXCLUSIVE MODE")
        cursor.execute(
            f"INSERT INTO {q(new)} SELECT * FROM {q(table)} WHERE id > %s",  # noqa: S608
            [last_id],
        )
        say(f"  written meanwhile: {cursor.rowcount:,} rows")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        (old_seq,) = cursor.fetchone()
        if old_seq is not None:
            cursor.execute(f"SELECT last_value, is_called FROM {old_seq}")  # noqa: S608
            position, called = cursor.fetchone()
        else:
            cursor.execute(f"SELECT coalesce(max(id), 0) FROM {q(new)}")  # noqa: S608
            position, called = max(cursor.fetchone()[0], 1), True
        cursor.execute("SELECT setval(%s, %s, %s)", [new_seq, position, called])
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE confrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        for referring, name in cursor.fetchall():
            cursor.execute(f"ALTER TABLE {referring} DROP CONSTRAINT {q(name)}")
        cursor.execute(f"DROP TABLE {q(table)}")
        cursor.execute(f"ALTER TABLE {q(new)} RENAME TO {q(table)}")
        cursor.execute(f"ALTER SEQUENCE {q(new_seq)} RENAME TO {q(table + '_id_seq')}")
        cursor.execute(f"ALTER SEQUENCE {q(table + '_id_seq')} OWNED BY {q(table)}.id")
        cursor.execute(
            f"ALTER TABLE {q(table)} RENAME CONSTRAINT {q(table + '_pkey_new')} "
            f"TO {q(table + '_pkey')}"
        )
        for name, _, _ in indexes:
            cursor.execute(f"ALTER INDEX {q(name + '_new')} RENAME TO {q(name)}")
        if in_swap is not None:
            in_swap(cursor)
    say(f"  swapped: writers waited {time.monotonic() - swap_started:.1f} s")
    with db.cursor() as cursor:
        cursor.execute(f"ANALYZE {q(table)}")
    say(f"partitioned in {time.monotonic() - started:.0f} s")
    return True


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
