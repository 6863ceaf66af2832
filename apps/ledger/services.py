"""Writing the ledger: the row of each call, and the rows staff book (top-ups, refunds,
adjustments). Every write moves the client's balance by the row's amount in the same
transaction, so the balance is always the sum of the client's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql import InsertQuery

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.pending import settle_pending_marked
from apps.billing.services import (
    HeldCredit,
    credit_settle,
    credit_settle_ctes_params,
    credit_settle_ctes_sql,
)
from apps.core.asyncdb import db_pool, live_connection
from apps.core.db import then_release_connection
from apps.core.money import ZERO, to_money
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ledger_day_add, ledger_day_upsert_params, ledger_day_upsert_sql


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
    entry = _call_entry(fields)
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


def _call_entry(fields: dict[str, Any]) -> LedgerEntry:
    return LedgerEntry(kind=LedgerEntry.Kind.CHARGE, amount=-fields["price"], **fields)


def _record_call_statement(entry: LedgerEntry, hold: HeldCredit | None) -> LedgerEntry:
    """INSERT the row, upsert its day's bucket and settle, as one data-modifying CTE."""
    with connection.cursor() as cursor:
        cursor.execute(_record_call_sql(), _record_call_params(entry, hold))
        (pk,) = cursor.fetchone()
    return _inserted(entry, pk)


def _inserted(entry: LedgerEntry, pk: int) -> LedgerEntry:
    """`entry` as the ORM leaves an instance it has just inserted."""
    entry.pk = pk
    entry._state.adding = False
    entry._state.db = DEFAULT_DB_ALIAS
    return entry


async def aledger_record_call(
    *,
    hold: HeldCredit | None,
    after: Callable[[LedgerEntry], None] | None = None,
    **fields: Any,
) -> LedgerEntry:
    """ledger_record_call from the event loop.

    A call with nothing else to commit with its row (no `after`) sends its one statement over
    apps.core.asyncdb's pool; the others, and every call where that pool is not used, go
    through Django's connection on a thread.
    """
    pool = db_pool() if after is None else None
    if pool is None:
        # The connection goes back to Django's pool after the settle too: on the ASGI
        # endpoint no request_finished signal closes it, and a broken one must not outlive
        # its call.
        return await sync_to_async(then_release_connection(ledger_record_call))(
            hold=hold, after=after, **fields
        )
    entry = _call_entry(fields)
    params = _record_call_params(entry, hold)
    async with live_connection(pool) as conn:
        cursor = await conn.execute(_record_call_sql(), params)
        row = await cursor.fetchone()
    assert row is not None
    return _inserted(entry, row[0])


_INSERTED_FIELDS = [f for f in LedgerEntry._meta.local_concrete_fields if not f.primary_key]


@cache
def _record_call_sql() -> str:
    """The statement's text: the same on every call, so PostgreSQL can keep it prepared."""
    query = InsertQuery(LedgerEntry)
    query.insert_values(_INSERTED_FIELDS, [LedgerEntry(amount=ZERO, price=ZERO, cost=ZERO)])
    compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
    compiler.returning_fields = [LedgerEntry._meta.pk]
    [(insert_sql, _)] = compiler.as_sql()
    day_sql = ledger_day_upsert_sql()
    settle_sql = credit_settle_ctes_sql()
    return f"WITH entry AS ({insert_sql}), day AS ({day_sql}), {settle_sql} SELECT id FROM entry"  # noqa: S608 (all values are parameters)


@cache
def _adapting_connection() -> BaseDatabaseWrapper:
    """A database wrapper whose `ops` adapt values as the ORM's INSERT would; it never
    connects. (`connections[...]` is context-local: on the event loop each call's task would
    build a wrapper of its own.)"""
    return connections.create_connection(DEFAULT_DB_ALIAS)


def _record_call_params(entry: LedgerEntry, hold: HeldCredit | None) -> list[Any]:
    """The statement's parameters, adapted as the ORM's INSERT would adapt them."""
    db = _adapting_connection()
    insert_params = [
        field.get_db_prep_save(field.pre_save(entry, True), connection=db)
        for field in _INSERTED_FIELDS
    ]
    return [
        *insert_params,
        *ledger_day_upsert_params(entry),
        *credit_settle_ctes_params(client_id=entry.client_id, amount=entry.amount, hold=hold),
    ]


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
