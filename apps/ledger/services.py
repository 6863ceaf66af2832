"""Writing the ledger: the row of each call, and the rows staff book (top-ups, refunds,
adjustments). Every write moves the client's balance by the row's amount in the same
transaction, so the balance is always the sum of the client's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.pending import settle_pending_marked
from apps.billing.services import HeldCredit, credit_settle
from apps.core.db import then_release_connection
from apps.core.group_commit import arun_grouped
from apps.core.money import to_money
from apps.core.statements import run
from apps.ledger.models import LedgerEntry, LedgerReversal
from apps.ledger.rollup import ledger_day_add
from apps.ledger.statements import CALL_SETTLE, Settlement


class BookingRefused(Exception):
    """A booking that would not make sense (zero amount, no reason, a second reversal...)."""


def ledger_record_call(
    *,
    hold: HeldCredit | None,
    after: Callable[[LedgerEntry], None] | None = None,
    **fields: Any,
) -> LedgerEntry:
    """Write a call's row, charge its price and drop its credit hold, all in one transaction.

    `after` runs in the same transaction (a service recording state about its call, the
    stored answer of an idempotent call). On PostgreSQL the row, its rollup and the settle
    are one statement (apps.ledger.statements.CALL_SETTLE): one round trip on every call's
    path.
    """
    settlement = Settlement(entry=_call_entry(fields), hold=hold)
    if after is None:
        return run(CALL_SETTLE, settlement)
    with transaction.atomic():
        entry = run(CALL_SETTLE, settlement)
        after(entry)
    return entry


async def aledger_record_call(
    *,
    hold: HeldCredit | None,
    after: Callable[[LedgerEntry], None] | None = None,
    **fields: Any,
) -> LedgerEntry:
    """ledger_record_call from the event loop.

    A call with nothing else to commit with its row (no `after`) sends its one statement over
    apps.core.asyncdb's pool where that pool is used, together with the other calls of the
    event loop settling at the same moment (apps.core.group_commit); the others go through Django's
    connection on a thread, which goes back to Django's pool afterwards (on the ASGI
    endpoint no request_finished signal closes it, and a broken one must not outlive its
    call).
    """
    if after is None:
        return await arun_grouped(CALL_SETTLE, Settlement(entry=_call_entry(fields), hold=hold))
    return await sync_to_async(then_release_connection(ledger_record_call))(
        hold=hold, after=after, **fields
    )


def _call_entry(fields: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(kind=LedgerEntry.Kind.CHARGE, amount=-fields["price"], **fields)


def _book(
    *,
    client: Client,
    kind: str,
    amount: Decimal,
    reason: str,
    staff_user: User | None,
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    if not reason.strip():
        raise BookingRefused("A booking needs a reason.")
    entry = LedgerEntry.objects.create(
        request_id=f"booking-{uuid.uuid4()}",
        kind=kind,
        client=client,
        status=LedgerEntry.Status.SUCCEEDED,
        amount=amount,
        currency=settings.ACCOUNTING_CURRENCY,
        channel=LedgerEntry.Channel.STAFF,
        reason=reason.strip(),
        created_by=staff_user,
        reverses=reverses,
        service=reverses.service if reverses else "",
        method=reverses.method if reverses else "",
        # A refund counts against the provider and country of the call it refunds.
        provider=reverses.provider if reverses else "",
        country=reverses.country if reverses else "",
    )
    ledger_day_add(entry=entry)
    credit_settle(client_id=client.pk, amount=amount, hold=None)
    return entry


@transaction.atomic
def ledger_topup(
    *, client: Client, amount: Decimal, reason: str, staff_user: User | None
) -> LedgerEntry:
    """Money received from the client: the balance goes up by `amount`."""
    amount = to_money(amount)
    if amount <= 0:
        raise BookingRefused("A top-up must be a positive amount.")
    return _book(
        client=client,
        kind=LedgerEntry.Kind.TOPUP,
        amount=amount,
        reason=reason,
        staff_user=staff_user,
    )


@transaction.atomic
def ledger_adjust(
    *, client: Client, amount: Decimal, reason: str, staff_user: User | None
) -> LedgerEntry:
    """A correction either way (a goodwill credit is positive, a missed fee negative)."""
    amount = to_money(amount)
    if amount == 0:
        raise BookingRefused("An adjustment of zero changes nothing.")
    return _book(
        client=client,
        kind=LedgerEntry.Kind.ADJUSTMENT,
        amount=amount,
        reason=reason,
        staff_user=staff_user,
    )


@transaction.atomic
def ledger_reverse(*, entry: LedgerEntry, reason: str, staff_user: User | None) -> LedgerEntry:
    """Book the row that undoes `entry`: a refund of a charged call, else an adjustment.

    A row is reversed at most once: the reversal claims the row in LedgerReversal, whose
    primary key refuses a second claim, whichever transaction comes second.
    """
    if entry.amount == 0:
        raise BookingRefused(f"Row {entry.request_id} moved no money; there is nothing to reverse.")
    if entry.reverses_id is not None:
        raise BookingRefused(
            f"Row {entry.request_id} is itself a reversal; book an adjustment instead."
        )
    if entry.kind == LedgerEntry.Kind.CARRIED:
        raise BookingRefused(
            f"Row {entry.request_id} carries archived rows' balance; book an adjustment instead."
        )
    if LedgerReversal.objects.filter(reversed_entry_id=entry.pk).exists():
        raise BookingRefused(f"Row {entry.request_id} has already been reversed.")
    kind = (
        LedgerEntry.Kind.REFUND
        if entry.kind == LedgerEntry.Kind.CHARGE
        else (LedgerEntry.Kind.ADJUSTMENT)
    )
    reversal = _book(
        client=entry.client,
        kind=kind,
        amount=-entry.amount,
        reason=reason,
        staff_user=staff_user,
        reverses=entry,
    )
    try:
        with transaction.atomic():
            LedgerReversal.objects.create(reversed_entry_id=entry.pk, reversal_id=reversal.pk)
    except IntegrityError:  # another transaction reversed it since the check above
        raise BookingRefused(f"Row {entry.request_id} has already been reversed.") from None
    return reversal


@transaction.atomic
def credit_hold_release_dangling(*, hold: CreditHold) -> LedgerEntry | None:
    """Release the hold of a call whose process died, recording the call as interrupted.

    The call's outcome is unknown and it is not charged; its row (status failed, error type
    `interrupted`, amount 0) explains where the hold went. None if the hold is gone already,
    or if the call's settle is pending: a provider served it while the database was away,
    and apps.gateway.settle charges it (and drops this hold) once the row can be written.
    """
    locked = CreditHold.objects.select_for_update().filter(pk=hold.pk).first()
    if locked is None:
        return None
    if settle_pending_marked(client_id=locked.client_id, request_id=locked.request_id):
        return None
    service, _, method = locked.method.partition(".")
    interrupted = LedgerEntry(
        request_id=locked.request_id,
        kind=LedgerEntry.Kind.CHARGE,
        client_id=locked.client_id,
        service=service,
        method=method,
        status=LedgerEntry.Status.FAILED,
        error_type="interrupted",
        error_detail=(
            f"The process handling this call stopped before recording it; its hold of "
            f"{locked.amount} taken at {locked.created_at.isoformat()} was released unbilled."
        ),
        amount=Decimal("0"),
        currency=settings.ACCOUNTING_CURRENCY,
    )
    # The call's settle, of nothing: its row, its rollup bucket and its hold dropped.
    dropped = HeldCredit(id=locked.pk, amount=locked.amount)
    return run(CALL_SETTLE, Settlement(entry=interrupted, hold=dropped))
