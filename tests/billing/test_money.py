"""The money statements (hold, settle, release), every case in each form they run in: the
SQL text on Django's connection, the same text over the event loop's psycopg pool, and the
ORM steps the embedded SQLite run takes. Each form must leave the same balances, holds,
ledger rows and rollup buckets."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import connection

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import HeldCredit, acredit_hold, credit_hold
from apps.core import asyncdb, statements
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.services import (
    aledger_record_call,
    credit_hold_release_dangling,
    ledger_record_call,
)
from tests import factories

pytestmark = [
    # Committed rows: the pool's connections must see what the test wrote.
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="compares SQL with the ORM"),
]

SQL_SYNC, SQL_ASYNC, ORM = "sql-sync", "sql-async", "orm"


@dataclass
class Money:
    """The money services in one form."""

    form: str

    async def hold(self, client: Client, amount: str, request_id: str) -> HeldCredit | None:
        args: dict[str, Any] = dict(
            client_id=client.pk, amount=Decimal(amount), request_id=request_id, method="fx.rates"
        )
        if self.form == SQL_ASYNC:
            return await acredit_hold(**args)
        return await database_sync_to_async(credit_hold)(**args)

    async def settle(
        self, client: Client, request_id: str, *, price: str, hold: HeldCredit | None, **extra: Any
    ) -> LedgerEntry:
        fields = call_fields(client, request_id, price=Decimal(price), **extra)
        if self.form == SQL_ASYNC:
            return await aledger_record_call(hold=hold, **fields)
        return await database_sync_to_async(ledger_record_call)(hold=hold, **fields)


def call_fields(client: Client, request_id: str, **values: Any) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "client_id": client.pk,
        "service": "fx",
        "method": "rates",
        "provider": "fixer",
        "status": LedgerEntry.Status.SUCCEEDED,
        "http_status": 200,
        "cost": Decimal("0.0010"),
        "currency": settings.ACCOUNTING_CURRENCY,
        "attempts": [{"provider": "fixer", "outcome": "served"}],
        "routing": {"strategy": "priority"},
        **values,
    }


@pytest.fixture(params=[SQL_SYNC, SQL_ASYNC, ORM])
async def money(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Money]:
    if request.param == ORM:
        monkeypatch.setattr(statements, "sql_enabled", lambda: False)
    if request.param == SQL_ASYNC:
        await asyncdb.open_db_pool()
        assert asyncdb.db_pool() is not None
    yield Money(request.param)
    await asyncdb.close_db_pool()


def orm(read: Callable[..., Any]) -> Callable[..., Any]:
    return database_sync_to_async(read)


@database_sync_to_async
def new_client(credit: str = "1.0000", balance: str = "0") -> Client:
    client = factories.ClientFactory(credit_limit=Decimal(credit))
    Client.objects.filter(pk=client.pk).update(balance=Decimal(balance))
    return client


@database_sync_to_async
def books(client: Client) -> dict[str, Any]:
    """Everything a money statement may change, as finance would read it."""
    client.refresh_from_db()
    return {
        "balance": client.balance,
        "held": client.held,
        "holds": sorted(CreditHold.objects.values_list("request_id", "amount")),
        "rows": sorted(
            LedgerEntry.objects.values_list(
                "request_id", "kind", "status", "amount", "price", "cost", "error_type"
            )
        ),
        "rollup": sorted(
            LedgerDay.objects.values_list(
                "client_id", "service", "method", "provider", "status", "calls", "cost", "revenue"
            )
        ),
    }


async def test_holds_are_taken_only_while_the_credit_covers_them(money: Money) -> None:
    # given a client with 1.00 of credit and 0.40 on its balance
    client = await new_client(credit="1.0000", balance="0.4000")

    # when calls hold 0.90, then 0.60, then 0.50
    first = await money.hold(client, "0.90", "a")
    second = await money.hold(client, "0.60", "b")
    third = await money.hold(client, "0.50", "c")

    # then the second did not fit (0.40 - 0.90 - 0.60 < -1.00); the third did, to the cent
    assert first is not None and third is not None and second is None
    assert third.amount == Decimal("0.50")
    assert await books(client) == {
        "balance": Decimal("0.4000"),
        "held": Decimal("1.4000"),
        "holds": [("a", Decimal("0.9000")), ("c", Decimal("0.5000"))],
        "rows": [],
        "rollup": [],
    }


async def test_served_calls_are_charged_counted_in_their_bucket_and_their_holds_dropped(
    money: Money,
) -> None:
    # given two calls in flight
    client = await new_client()
    one, two = await money.hold(client, "0.30", "one"), await money.hold(client, "0.20", "two")

    # when both are served
    entry = await money.settle(client, "one", price="0.30", hold=one)
    await money.settle(client, "two", price="0.20", hold=two)

    # then the rows are written, the balance moved by both, nothing is held any more
    assert entry.pk is not None and not entry._state.adding
    assert await orm(LedgerEntry.objects.filter(pk=entry.pk, request_id="one").exists)()
    charged = LedgerEntry.Kind.CHARGE, LedgerEntry.Status.SUCCEEDED
    assert await books(client) == {
        "balance": Decimal("-0.5000"),
        "held": Decimal("0"),
        "holds": [],
        "rows": [
            ("one", *charged, Decimal("-0.3000"), Decimal("0.3000"), Decimal("0.0010"), ""),
            ("two", *charged, Decimal("-0.2000"), Decimal("0.2000"), Decimal("0.0010"), ""),
        ],
        "rollup": [
            (client.pk, "fx", "rates", "fixer", "succeeded", 2, Decimal("0.0020"), Decimal("0.5"))
        ],
    }


async def test_a_failed_call_is_recorded_unbilled_and_its_hold_dropped(money: Money) -> None:
    # given a call in flight
    client = await new_client()
    held = await money.hold(client, "0.30", "failed")

    # when every provider failed
    await money.settle(
        client,
        "failed",
        price="0",
        hold=held,
        status=LedgerEntry.Status.FAILED,
        provider="",
        cost=Decimal("0"),
        error_type="provider_error",
    )

    # then the row says so, the hold is gone, and the balance did not move
    failed = LedgerEntry.Kind.CHARGE, LedgerEntry.Status.FAILED
    assert await books(client) == {
        "balance": Decimal("0"),
        "held": Decimal("0"),
        "holds": [],
        "rows": [("failed", *failed, Decimal("0"), Decimal("0"), Decimal("0"), "provider_error")],
        "rollup": [(client.pk, "fx", "rates", "", "failed", 1, Decimal("0"), Decimal("0"))],
    }


async def test_a_call_that_held_nothing_is_charged_all_the_same(money: Money) -> None:
    # given a client (a call that took no hold: a replay charged again, a booking...)
    client = await new_client()

    # when its call is settled without a hold
    await money.settle(client, "free-hold", price="0.10", hold=None)

    # then it is charged
    books_ = await books(client)
    assert (books_["balance"], books_["held"], len(books_["rows"])) == (
        Decimal("-0.1000"),
        Decimal("0"),
        1,
    )
    assert books_["rollup"][0][-3:] == (1, Decimal("0.0010"), Decimal("0.1"))


async def test_a_hold_released_already_is_not_released_twice(money: Money) -> None:
    # given a call whose hold was released meanwhile (its process presumed dead)
    client = await new_client()
    held = await money.hold(client, "0.25", "late")
    assert held is not None
    await orm(CreditHold.objects.filter(pk=held.id).delete)()
    await orm(Client.objects.filter(pk=client.pk).update)(held=Decimal("0"))

    # when its settle arrives after all
    await money.settle(client, "late", price="0.25", hold=held)

    # then it is charged, and `held` does not go below zero
    books_ = await books(client)
    assert (books_["balance"], books_["held"], books_["holds"]) == (
        Decimal("-0.2500"),
        Decimal("0"),
        [],
    )


async def test_a_dangling_hold_is_released_as_an_interrupted_unbilled_call(money: Money) -> None:
    # given a call whose process died holding 0.25, and another call still in flight
    client = await new_client()
    dead = await money.hold(client, "0.25", "dead")
    await money.hold(client, "0.10", "running")
    assert dead is not None

    # when the dead call's hold is released (a Celery task: always through Django's connection)
    hold = await orm(CreditHold.objects.get)(pk=dead.id)
    entry = await orm(credit_hold_release_dangling)(hold=hold)

    # then its row says it was interrupted, it is counted unbilled, its hold alone is gone
    assert entry is not None and entry.pk is not None
    interrupted = LedgerEntry.Kind.CHARGE, LedgerEntry.Status.FAILED
    assert await books(client) == {
        "balance": Decimal("0"),
        "held": Decimal("0.1000"),
        "holds": [("running", Decimal("0.1000"))],
        "rows": [("dead", *interrupted, Decimal("0"), Decimal("0"), Decimal("0"), "interrupted")],
        "rollup": [(client.pk, "fx", "rates", "", "failed", 1, Decimal("0"), Decimal("0"))],
    }
    # and a second release finds nothing to do
    assert await orm(credit_hold_release_dangling)(hold=hold) is None


async def test_on_postgresql_the_hold_and_the_settle_are_one_constant_statement_each(
    statements_sent: list[str],
) -> None:
    # given the event loop's pool, and every statement it sends written down
    sent = statements_sent
    money = Money(SQL_ASYNC)
    client = await new_client()

    # when two calls are held and settled, one served and one failed
    for request_id, price in (("a", "0.30"), ("b", "0")):
        held = await money.hold(client, "0.30", request_id)
        await money.settle(client, request_id, price=price, hold=held)
    await asyncdb.close_db_pool()

    # then each took two statements, and both calls sent the same two texts
    assert len(sent) == 4
    assert sent[0] == sent[2] and sent[1] == sent[3]
    assert sent[0].lstrip().startswith("WITH reserved AS")
    assert sent[1].startswith("WITH entry AS (INSERT INTO")


def test_on_djangos_connection_the_hold_and_the_settle_are_one_statement_each(
    django_assert_num_queries: Any,
) -> None:
    # given a client
    client = factories.ClientFactory()

    # when a call is held, then settled, through Django's connection
    with django_assert_num_queries(1):
        held = credit_hold(
            client_id=client.pk, amount=Decimal("0.30"), request_id="a", method="fx.rates"
        )
    with django_assert_num_queries(1):
        ledger_record_call(hold=held, **call_fields(client, "a", price=Decimal("0.30")))

    # then
    client.refresh_from_db()
    assert (client.balance, client.held) == (Decimal("-0.3000"), Decimal("0"))
