"""Writing the ledger: the row of each call, and the rows staff book (top-ups, refunds,
adjustments). Every write moves the client's balance by the row's amount in the same
transaction, so the balance is always the sum of the client's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models.sql import InsertQuery

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import HeldCredit, credit_settle, credit_settle_ctes
from apps.core.money import to_money
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ledger_day_add, ledger_day_upsert


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
    are one statement: one round trip on every call's path.
    """
    entry = LedgerEntry(kind=LedgerEntry.Kind.CHARGE, amount=-fields["price"], **fields)
    if connection.vendor != "postgresql":
        with transaction.atomic():
            entry.save(force_insert=True)
            ledger_day_add(entry=entry)
            credit_settle(client_id=entry.client_id, amount=entry.amount, hold=hold)
            if after is not None:
                after(entry)
        return entry
    if after is None:
        return _record_call_statement(entry, hold)
    with transaction.atomic():
        _record_call_statement(entry, hold)
        after(entry)
    return entry


def _record_call_statement(entry: LedgerEntry, hold: HeldCredit | None) -> LedgerEntry:
    """INSERT the row, upsert its day's bucket and settle, as one data-modifying CTE."""
    fields = [f for f in LedgerEntry._meta.local_concrete_fields if not f.primary_key]
    query = InsertQuery(LedgerEntry)
    query.insert_values(fields, [entry])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [LedgerEntry._meta.pk]
    [(insert_sql, insert_params)] = compiler.as_sql()
    day_sql, day_params = ledger_day_upsert(entry)
    settle_sql, settle_params = credit_settle_ctes(
        client_id=entry.client_id, amount=entry.amount, hold=hold
    )
    statement = (
        f"WITH entry AS ({insert_sql}), day AS ({day_sql}), {settle_sql} SELECT id FROM entry"  # noqa: S608 (all values are parameters)
    )
    with connection.cursor() as cursor:
        params: list[Any] = [*insert_params, *day_params, *settle_params]
        cursor.execute(statement, params)
        (entry.pk,) = cursor.fetchone()
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


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

    A row is reversed at most once (the database refuses a second reversal of the same row).
    """
    if entry.amount == 0:
        raise BookingRefused(f"Row {entry.request_id} moved no money; there is nothing to reverse.")
    if entry.reverses_id is not None:
        raise BookingRefused(
            f"Row {entry.request_id} is itself a reversal; book an adjustment instead."
        )
    if LedgerEntry.objects.filter(reverses=entry).exists():
        raise BookingRefused(f"Row {entry.request_id} has already been reversed.")
    kind = (
        LedgerEntry.Kind.REFUND
        if entry.kind == LedgerEntry.Kind.CHARGE
        else (LedgerEntry.Kind.ADJUSTMENT)
    )
    return _book(
        client=entry.client,
        kind=kind,
        amount=-entry.amount,
        reason=reason,
        staff_user=staff_user,
        reverses=entry,
    )


@transaction.atomic
def credit_hold_release_dangling(*, hold: CreditHold) -> LedgerEntry | None:
    """Release the hold of a call whose process died, recording the call as interrupted.

    The call's outcome is unknown and it is not charged; its row (status failed, error type
    `interrupted`, amount 0) explains where the hold went. None if the hold is gone already.
    """
    locked = CreditHold.objects.select_for_update().filter(pk=hold.pk).first()
    if locked is None:
        return None
    service, _, method = locked.method.partition(".")
    entry = LedgerEntry.objects.create(
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
    ledger_day_add(entry=entry)
    credit_settle(
        client_id=locked.client_id,
        amount=Decimal("0"),
        hold=HeldCredit(id=locked.pk, amount=locked.amount),
    )
    return entry
