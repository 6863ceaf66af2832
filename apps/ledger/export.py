"""The ledger's CSV export (GET /api/v1/ledger/export.csv), in chunks of bytes.

Two paths give the same bytes. On PostgreSQL each batch is one `COPY (SELECT …) TO STDOUT`,
the cells formatted by the database (a month streams several times faster, issue #18); on
other databases (SQLite in development) Python's csv module writes the rows the ORM reads.
tests/ledger/test_export_copy.py compares the two on the same rows.

The CSV: a header, then one line per row (`\\r\\n`), text quoted (quotes doubled) and
neutralised when a spreadsheet would run it (a single quote in front: OWASP, CSV
injection), numbers unquoted (amounts with their four places: -0.0300 is a refund), a
missing number as `""`, booleans as True/False, times in UTC as ISO 8601.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, CharField, F, OuterRef, Q, QuerySet, Subquery, When

from apps.ledger.filters import LedgerFilters
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import EXPORT_COLUMNS, ledger_export_batches

# A cell starting with one of these is a formula to a spreadsheet (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_NOT_TEXT = ("created_at", "http_status", "price", "cost", "amount", "cached", "free_call")
_NUMBERS = ("http_status", "latency_ms")
_TEXT = tuple(c for c in EXPORT_COLUMNS if c not in (*_NOT_TEXT, "latency_ms"))
_TEXT_CELLS = tuple(EXPORT_COLUMNS.index(column) for column in _TEXT)
_NUMBER_CELLS = tuple(EXPORT_COLUMNS.index(column) for column in _NUMBERS)
_SOURCES = {"client": "client__slug"}


def export_chunks(filters: LedgerFilters, *, batch_size: int) -> Iterator[bytes]:
    """The header, then one chunk of CSV per batch of rows, oldest first."""
    if connection.vendor == "postgresql":
        return copy_chunks(filters, batch_size=batch_size)
    return python_chunks(filters, batch_size=batch_size)


def header() -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC).writerow(EXPORT_COLUMNS)
    return buffer.getvalue().encode()


# --- Python: the ORM's rows through the csv module --------------------------------------------


def _csv_row(row: tuple[Any, ...]) -> list[Any]:
    """A row's cells, column by column (this runs for every cell of a month's rows)."""
    cells = list(row)
    cells[0] = cells[0].isoformat()
    for i in _NUMBER_CELLS:
        if cells[i] is None:
            cells[i] = ""
    for i in _TEXT_CELLS:
        value = cells[i]
        if value is None:
            cells[i] = ""
        elif value.startswith(FORMULA_STARTS):
            cells[i] = f"'{value}"
    return cells


def python_chunks(filters: LedgerFilters, *, batch_size: int) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC)  # text quoted, numbers not
    yield header()
    for batch in ledger_export_batches(filters=filters, batch_size=batch_size):
        writer.writerows(map(_csv_row, batch))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()


# --- PostgreSQL: COPY, one statement per batch ------------------------------------------------


_NULLABLE = ("source_ip", "reverses")
_FORMULA_CODES = ", ".join(str(ord(start)) for start in FORMULA_STARTS)


def _text(column: str) -> str:
    # An inet's text has its mask (/32, /128); host() is the address, as Django reads it.
    value = f"host(r.x_{column})" if column == "source_ip" else f"r.x_{column}::text"
    if column in _NULLABLE:
        value = f"COALESCE({value}, '')"
    # ascii(): the first character's code, compared as a number (0 for '').
    neutralised = f"'''' || {value}"
    return f"CASE WHEN ascii({value}) IN ({_FORMULA_CODES}) THEN {neutralised} ELSE {value} END"


def _cell(column: str) -> str:
    """The SQL of one cell, formatted as _csv_row and the csv module would."""
    if column == "created_at":
        utc = "(r.x_created_at AT TIME ZONE 'UTC')"
        seconds = 'YYYY-MM-DD"T"HH24:MI:SS'
        return (  # isoformat(): the microseconds only when there are some
            f"CASE WHEN date_trunc('second', {utc}) = {utc} THEN to_char({utc}, '{seconds}') "
            f"ELSE to_char({utc}, '{seconds}.US') END || '+00:00'"
        )
    if column in ("cached", "free_call"):
        return f"CASE WHEN r.x_{column} THEN 'True' ELSE 'False' END"
    if column in _NUMBERS:
        return f"COALESCE(r.x_{column}::text, '')"  # '' is written quoted: "" as Python's
    if column in _TEXT:
        return _text(column)
    return f"r.x_{column}::text"  # money: numeric(14, 4) keeps its four places


def _reversed_request_id() -> Case:
    """The request id of the row a row reverses, looked up only for a row that reverses one.

    Not a join of the ledger to itself: an id alone names no month, so on the partitioned
    ledger a join probes every partition's primary key for every row exported (11 probes a
    row at 20 M rows, most of a batch's time), and its cost estimate put every batch over
    PostgreSQL's JIT threshold."""
    reversed_row = LedgerEntry.objects.filter(pk=OuterRef("reverses_id")).values("request_id")
    return Case(
        When(reverses_id__isnull=False, then=Subquery(reversed_row[:1])),
        default=None,
        output_field=CharField(),
    )


def _copy_statement(rows: QuerySet[LedgerEntry]) -> tuple[str, tuple[Any, ...]]:
    columns: dict[str, Any] = {f"x_{c}": F(_SOURCES.get(c, c)) for c in EXPORT_COLUMNS}
    columns["x_reverses"] = _reversed_request_id()
    inner, params = rows.values(**columns, x_row_id=F("id")).query.sql_with_params()
    cells = ", ".join(f'{_cell(c)} AS "{c}"' for c in EXPORT_COLUMNS)
    quoted = ", ".join(f'"{c}"' for c in ("created_at", *_TEXT))
    # Only the ORM's SQL and this module's constants: the filters' values stay parameters.
    # The outer ORDER BY is what promises the order (a subquery's does not); PostgreSQL
    # serves it from the same index scan, with no sort of its own.
    select = f"SELECT {cells} FROM ({inner}) AS r ORDER BY r.x_created_at, r.x_row_id"  # noqa: S608
    sql = f"COPY ({select}) TO STDOUT (FORMAT csv, FORCE_QUOTE ({quoted}))"
    return sql, params


def copy_chunks(filters: LedgerFilters, *, batch_size: int) -> Iterator[bytes]:
    """Each batch: the key of its last row (an index-only read of `batch_size` entries),
    then one COPY of the rows up to it, read whole in the thread that runs it (no COPY is
    left open between chunks, nor a transaction). The last batch is open-ended, so rows
    written meanwhile with later times are included, as by the Python path."""
    yield header()
    resolved = filters.resolved()
    if resolved is None:
        return
    rows = resolved.rows_of(LedgerEntry.objects.all()).order_by("created_at", "id")
    after: tuple[datetime, int] | None = None
    while True:
        batch = rows if after is None else _after(rows, after)
        with _small_statements():
            keys = batch.values_list("created_at", "id")[batch_size - 1 : batch_size]
            last = next(iter(keys), None)
            if last is not None:
                batch = batch.filter(created_at__lte=last[0]).exclude(
                    created_at=last[0], id__gt=last[1]
                )
            chunk = _copy(batch)
        if chunk:
            yield chunk
        if last is None:
            return
        after = last


@contextmanager
def _small_statements() -> Iterator[None]:
    """One batch's statements in a transaction of their own, with no JIT and no parallel
    workers: each reads a few thousand rows through an index, in a few milliseconds. On the
    partitioned ledger at 20 M rows their estimated costs crossed `jit_above_cost` and the
    parallel thresholds, and compiling a statement took 70-170 ms and starting workers tens
    more (the export of a client's 2 rows: 306 ms, 3 ms without; a batch of 5,000 rows:
    134 ms, 40 ms without; docs/benchmarks.md). The settings are local to the transaction,
    so no pooled connection keeps them."""
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('jit', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"
        )
        yield


def _after(rows: QuerySet[LedgerEntry], key: tuple[datetime, int]) -> QuerySet[LedgerEntry]:
    # created_at >= first, so PostgreSQL starts its (…, created_at, id) scan at the key.
    return rows.filter(created_at__gte=key[0]).filter(
        Q(created_at__gt=key[0]) | Q(created_at=key[0], id__gt=key[1])
    )


def _copy(rows: QuerySet[LedgerEntry]) -> bytes:
    """The rows' CSV lines. The server sends each row as one message ending in `\\n` (the
    protocol's rule for COPY out); the csv module ends a line with `\\r\\n`."""
    sql, params = _copy_statement(rows)
    connection.ensure_connection()
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql, params) as copy:
        lines = [row[:-1] for row in copy]
    if not lines:
        return b""
    return b"\r\n".join(lines) + b"\r\n"
