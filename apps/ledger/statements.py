"""The settle of a call, written once: its ledger row, its day's rollup bucket, its charge
and its hold dropped. On PostgreSQL one data-modifying CTE (one round trip on every call's
path, its text constant so the server keeps it prepared); beside it, the ORM steps other
databases take. Run by apps.core.statements (`run`, `arun`).

The same statement writes the row of a dangling hold's release (a call recorded as
interrupted and unbilled): a settle of amount 0 that drops the hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.sql import InsertQuery

from apps.billing.statements import (
    SETTLE_CREDIT_CTES,
    SETTLE_GROUP_CREDIT_CTES,
    HeldCredit,
    credit_settle_orm,
    settle_credit_params,
    settle_group_credit_params,
)
from apps.core.group_commit import GroupStatement
from apps.core.money import ZERO
from apps.core.statements import Row
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import (
    ledger_day_add,
    ledger_day_group_upsert_sql,
    ledger_day_upsert_params,
    ledger_day_upsert_sql,
)


@dataclass(frozen=True)
class Settlement:
    """A call's row, not yet written, and the hold its settle drops (None: no hold)."""

    entry: LedgerEntry
    hold: HeldCredit | None


_INSERTED_FIELDS = [f for f in LedgerEntry._meta.local_concrete_fields if not f.primary_key]


class CallSettleStatement(GroupStatement[Settlement, LedgerEntry]):
    """INSERT the row, upsert its day's bucket and settle the credit; the row comes back
    as the ORM leaves an instance it has just inserted.

    Its group form (apps.core.group_commit) does the same for many calls in one statement:
    the rows inserted from arrays, each day's bucket and each client's row written once
    with the group's sums, every hold dropped."""

    @cached_property
    def sql(self) -> str:
        return (
            f"WITH entry AS ({_insert_sql(rows=1)}), "  # noqa: S608 (values are parameters)
            f"day AS ({ledger_day_upsert_sql()}), {SETTLE_CREDIT_CTES} SELECT id FROM entry"
        )

    @cached_property
    def group_sql(self) -> str:
        # Django's INSERT of several rows on PostgreSQL reads them from UNNEST(arrays), and
        # RETURNING gives the ids back in the arrays' order (bulk_create relies on it too).
        # Its arrays go in PostgreSQL's binary format (%b): the text format quotes every
        # element of every array through regular expressions, most of the group's cost.
        return (
            f"WITH entry AS ({_insert_sql(rows=2)}), "  # noqa: S608 (values are parameters)
            f"day AS ({ledger_day_group_upsert_sql()}), {SETTLE_GROUP_CREDIT_CTES} "
            "SELECT id FROM entry"
        ).replace("%s", "%b")

    def params(self, args: Settlement) -> list[Any]:
        """Adapted as the ORM's INSERT would adapt them."""
        entry = args.entry
        return [
            *_insert_params(entry),
            *ledger_day_upsert_params(entry),
            *settle_credit_params(client_id=entry.client_id, amount=entry.amount, hold=args.hold),
        ]

    def group_params(self, group: Sequence[Settlement]) -> list[Any]:
        """One array per column: the INSERT's, the day buckets', the credit's."""
        entries = [settlement.entry for settlement in group]
        return [
            *_columns([_insert_params(entry) for entry in entries]),
            *_columns([ledger_day_upsert_params(entry) for entry in entries]),
            *settle_group_credit_params(
                client_ids=[entry.client_id for entry in entries],
                amounts=[entry.amount for entry in entries],
                holds=[settlement.hold for settlement in group],
            ),
        ]

    def result(self, args: Settlement, row: Row | None) -> LedgerEntry:
        assert row is not None  # an INSERT without a condition returns its row
        entry = args.entry
        entry.pk = row[0]
        entry._state.adding = False
        entry._state.db = DEFAULT_DB_ALIAS
        return entry

    def orm(self, args: Settlement) -> LedgerEntry:
        entry = args.entry
        with transaction.atomic():
            entry.save(force_insert=True)
            ledger_day_add(entry=entry)
            credit_settle_orm(client_id=entry.client_id, amount=entry.amount, hold=args.hold)
        return entry


CALL_SETTLE = CallSettleStatement()


def _insert_sql(*, rows: int) -> str:
    """The ORM's INSERT of the row (of several rows: from UNNEST of one array per column)."""
    query = InsertQuery(LedgerEntry)
    template: list[Model] = [LedgerEntry(amount=ZERO, price=ZERO, cost=ZERO) for _ in range(rows)]
    query.insert_values(_INSERTED_FIELDS, template)
    compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
    compiler.returning_fields = [LedgerEntry._meta.pk]
    [(insert_sql, _)] = compiler.as_sql()
    return str(insert_sql)


def _insert_params(entry: LedgerEntry) -> list[Any]:
    db = _adapting_connection()
    return [
        field.get_db_prep_save(field.pre_save(entry, True), connection=db)
        for field in _INSERTED_FIELDS
    ]


def _columns(rows: list[list[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


@cache
def _adapting_connection() -> BaseDatabaseWrapper:
    """A database wrapper whose `ops` adapt values as the ORM's INSERT would; it never
    connects. (`connections[...]` is context-local: on the event loop each call's task would
    build a wrapper of its own.)"""
    return connections.create_connection(DEFAULT_DB_ALIAS)
