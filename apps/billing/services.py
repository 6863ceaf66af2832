"""Holding and settling the price of a call against a client's credit.

A call first holds its price: one conditional UPDATE that reserves it (`held`) only while
balance - held - price >= -credit_limit, so concurrent calls can never spend past the limit,
and a CreditHold row that names the call. The settle step, in the transaction that writes
the call's ledger row, moves the balance by the row's amount and drops the hold. So the
balance is always the sum of the ledger rows, and a hold whose process died is a row that
can be found (see ledger_check).

On PostgreSQL each step is a single statement (a data-modifying CTE); other databases (the
embedded SQLite run) take the same steps through the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core.asyncdb import db_pool, live_connection
from apps.core.db import then_release_connection


@dataclass(frozen=True)
class HeldCredit:
    """A hold taken for one call: settle it with credit_settle."""

    id: int
    amount: Decimal


_CLIENT = Client._meta.db_table
_HOLD = CreditHold._meta.db_table

_HOLD_SQL = f"""
WITH reserved AS (
    UPDATE {_CLIENT} SET held = held + %(amount)s
    WHERE id = %(client_id)s AND balance - held - %(amount)s >= -credit_limit
    RETURNING id
)
INSERT INTO {_HOLD} (client_id, request_id, method, amount, created_at)
SELECT id, %(request_id)s, %(method)s, %(amount)s, %(now)s FROM reserved
RETURNING id
"""  # noqa: S608 (table names come from the models, values are parameters)

_SETTLE_SQL = f"""
WITH released AS (DELETE FROM {_HOLD} WHERE id = %(hold_id)s RETURNING amount)
UPDATE {_CLIENT}
SET balance = balance + %(amount)s, held = held - COALESCE((SELECT amount FROM released), 0)
WHERE id = %(client_id)s
"""  # noqa: S608


def credit_settle_ctes_sql() -> str:
    """credit_settle as two CTEs (`released`, `settled`) of a larger PostgreSQL statement,
    so that the ledger row, its rollup and the settle go to the database in one round trip.
    Parameters: credit_settle_ctes_params.
    """
    return (
        f"released AS (DELETE FROM {_HOLD} WHERE id = %s RETURNING amount), "  # noqa: S608
        f"settled AS (UPDATE {_CLIENT} SET balance = balance + %s, "
        "held = held - COALESCE((SELECT amount FROM released), 0) "
        "WHERE id = %s AND (%s <> 0 OR EXISTS (SELECT 1 FROM released)))"
    )


def credit_settle_ctes_params(
    *, client_id: int, amount: Decimal, hold: HeldCredit | None
) -> list[Any]:
    return [hold.id if hold else None, amount, client_id, amount]


def _one_statement() -> bool:
    return connection.vendor == "postgresql"


def credit_hold(
    *, client_id: int, amount: Decimal, request_id: str, method: str
) -> HeldCredit | None:
    """Reserve `amount` for one call if the client's credit covers it; None if it does not."""
    now = timezone.now()
    if _one_statement():
        with connection.cursor() as cursor:
            cursor.execute(
                _HOLD_SQL,
                {
                    "amount": amount,
                    "client_id": client_id,
                    "request_id": request_id,
                    "method": method,
                    "now": now,
                },
            )
            row = cursor.fetchone()
        return HeldCredit(id=row[0], amount=amount) if row else None
    with transaction.atomic():
        reserved = Client.objects.filter(
            pk=client_id, balance__gte=F("held") + amount - F("credit_limit")
        ).update(held=F("held") + amount)
        if not reserved:
            return None
        hold = CreditHold.objects.create(
            client_id=client_id, request_id=request_id, method=method, amount=amount, created_at=now
        )
    return HeldCredit(id=hold.pk, amount=amount)


async def acredit_hold(
    *, client_id: int, amount: Decimal, request_id: str, method: str
) -> HeldCredit | None:
    """credit_hold from the event loop: its statement over apps.core.asyncdb's pool, or
    through Django's connection on a thread where that pool is not used."""
    pool = db_pool()
    if pool is None:
        # The connection goes back to Django's pool while the provider is awaited.
        return await sync_to_async(then_release_connection(credit_hold))(
            client_id=client_id, amount=amount, request_id=request_id, method=method
        )
    async with live_connection(pool) as conn:
        cursor = await conn.execute(
            _HOLD_SQL,
            {
                "amount": amount,
                "client_id": client_id,
                "request_id": request_id,
                "method": method,
                "now": timezone.now(),
            },
        )
        row = await cursor.fetchone()
    return HeldCredit(id=row[0], amount=amount) if row else None


def credit_settle(*, client_id: int, amount: Decimal, hold: HeldCredit | None) -> None:
    """Move the balance by `amount` (a ledger row's) and drop the call's hold, if any.

    Call inside the transaction that writes the ledger row. A hold already released (by
    ledger_check, after its process was presumed dead) is not released twice.
    """
    if hold is None:
        if amount:
            Client.objects.filter(pk=client_id).update(balance=F("balance") + amount)
        return
    if _one_statement():
        with connection.cursor() as cursor:
            cursor.execute(
                _SETTLE_SQL, {"hold_id": hold.id, "amount": amount, "client_id": client_id}
            )
        return
    deleted, _ = CreditHold.objects.filter(pk=hold.id).delete()
    Client.objects.filter(pk=client_id).update(
        balance=F("balance") + amount, held=F("held") - (hold.amount if deleted else 0)
    )
