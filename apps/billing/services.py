"""Holding and settling the price of a call against a client's credit.

A call first holds its price: one statement (apps.billing.statements.CREDIT_HOLD) reserves
it (`held`) only while the client's credit covers it, and writes a CreditHold row that
names the call. The settle step, in the transaction that writes the call's ledger row, moves
the balance by the row's amount and drops the hold (on the call path, inside the ledger's
one settle statement: apps.ledger.statements). So the balance is always the sum of the
ledger rows, and a hold whose process died is a row that can be found (see ledger_check).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from apps.billing.statements import (
    CREDIT_HOLD,
    HeldCredit,
    HoldRequest,
    credit_settle_orm,
)
from apps.core.group_commit import arun_grouped
from apps.core.statements import run

__all__ = ["HeldCredit", "acredit_hold", "credit_hold", "credit_settle"]


def credit_hold(
    *, client_id: int, amount: Decimal, request_id: str, method: str
) -> HeldCredit | None:
    """Reserve `amount` for one call if the client's credit covers it; None if it does not."""
    return run(CREDIT_HOLD, _hold_request(client_id, amount, request_id, method))


async def acredit_hold(
    *, client_id: int, amount: Decimal, request_id: str, method: str
) -> HeldCredit | None:
    """credit_hold from the event loop (over apps.core.asyncdb's pool where it is used, with
    the other calls of the loop holding at the same moment: apps.core.group_commit)."""
    return await arun_grouped(CREDIT_HOLD, _hold_request(client_id, amount, request_id, method))


def _hold_request(client_id: int, amount: Decimal, request_id: str, method: str) -> HoldRequest:
    return HoldRequest(
        client_id=client_id,
        amount=amount,
        request_id=request_id,
        method=method,
        now=timezone.now(),
    )


def credit_settle(*, client_id: int, amount: Decimal, hold: HeldCredit | None) -> None:
    """Move the balance by `amount` (a ledger row's) and drop the call's hold, if any.

    Call inside the transaction that writes the ledger row. A hold already released (by
    ledger_check, after its process was presumed dead) is not released twice. (A call's row
    is written with its settle in one statement: apps.ledger.services.ledger_record_call.)
    """
    credit_settle_orm(client_id=client_id, amount=amount, hold=hold)
