"""The settle of a call, written once: its ledger row, its day's rollup bucket, its charge
and its hold dropped. On PostgreSQL one data-modifying CTE (one round trip on every call's
path, its text constant so the server keeps it prepared); beside it, the ORM steps other
databases take. Run by apps.core.statements (`run`, `arun`).

The same statement writes the row of a dangling hold's release (a call recorded as
interrupted and unbilled): a settle of amount 0 that drops the hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql import InsertQuery

from apps.billing.statements import (
    SETTLE_CREDIT_CTES,
    HeldCredit,
    credit_settle_orm,
    settle_credit_params,
)
from apps.core.money import ZERO
from apps.core.statements import Row, Statement
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ledger_day_add, ledger_day_upsert_params, ledger_day_upsert_sql


@dataclass(frozen=True)
class Settlement:
    """A call's row, not yet written, and the hold its settle drops (None: no hold)."""

    entry: LedgerEntry
    hold: HeldCredit | None


_INSERTED_FIELDS = [f for f in LedgerEntry._meta.local_concrete_fields if not f.primary_key]


class CallSettleStatement(Statement[Settlement, LedgerEntry]):
    """INSERT the row, upsert its day's bucket and settle the credit; the row comes back
    as the ORM leaves an instance it has just inserted."""

    @cached_property
    def sql(self) -> str:
        query = InsertQuery(LedgerEntry)
        query.insert_values(_INSERTED_FIELDS, [LedgerEntry(amount=ZERO, price=ZERO, cost=ZERO)])
        compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
        compiler.returning_fields = [LedgerEntry._meta.pk]
        [(insert_sql, _)] = compiler.as_sql()
        return (
            f"WITH entry AS ({insert_sql}), day AS ({ledger_day_upsert_sql()}), "  # noqa: S608
            f"{SETTLE_CREDIT_CTES} SELECT id FROM entry"  # (all values are parameters)
        )

    def params(self, args: Settlement) -> list[Any]:
        """Adapted as the ORM's INSERT would adapt them."""
        entry, db = args.entry, _adapting_connection()
        insert_params = [
            field.get_db_prep_save(field.pre_save(entry, True), connection=db)
            for field in _INSERTED_FIELDS
        ]
        return [
            *insert_params,
            *ledger_day_upsert_params(entry),
            *settle_credit_params(client_id=entry.client_id, amount=entry.amount, hold=args.hold),
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


@cache
def _adapting_connection() -> BaseDatabaseWrapper:
    """A database wrapper whose `ops` adapt values as the ORM's INSERT would; it never
    connects. (`connections[...]` is context-local: on the event loop each call's task would
    build a wrapper of its own.)"""
    return connections.create_connection(DEFAULT_DB_ALIAS)
