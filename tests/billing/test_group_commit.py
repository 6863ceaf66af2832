"""Group commit of settles (apps.core.group_commit): calls of one event loop settling at the
same moment share one statement and one commit, and leave exactly the books they would have
left one by one: the same rows, balances, holds and rollup buckets."""

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.db.models import F

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import HeldCredit
from apps.core import asyncdb
from apps.ledger.models import LedgerEntry
from apps.ledger.services import aledger_record_call
from apps.ledger.statements import CALL_SETTLE
from tests.billing.test_money import ORM, SQL_ASYNC, SQL_SYNC, Money, books, call_fields, new_client

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="groups are PostgreSQL's"),
]


async def settle_all(money: Money, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Settle the calls at the same moment; each result or its exception."""
    settles = [
        money.settle(client, request_id, price=price, hold=hold, **extra)
        for client, request_id, price, hold, extra in calls
    ]
    return await asyncio.gather(*settles, return_exceptions=True)


async def a_busy_moment(money: Money) -> tuple[list[Any], list[tuple[Any, ...]]]:
    """Two clients, six calls finishing at once: served with holds (some in the same bucket),
    one failed, one that held nothing, one whose hold was released already."""
    ann, bob = await new_client(), await new_client(balance="2.0000")
    holds = {name: await money.hold(client, "0.30", name) for name, client in
             (("a1", ann), ("a2", ann), ("a3", ann), ("b1", bob), ("b2", bob))}  # fmt: skip
    released = holds["b2"]
    assert released is not None
    await database_sync_to_async(CreditHold.objects.filter(pk=released.id).delete)()
    await database_sync_to_async(_unhold)(bob.pk, released)
    failed = dict(status=LedgerEntry.Status.FAILED, provider="", cost=Decimal("0"))
    calls = [
        (ann, "a1", "0.30", holds["a1"], {}),
        (ann, "a2", "0.30", holds["a2"], {}),
        (ann, "a3", "0", holds["a3"], {**failed, "error_type": "provider_error"}),
        (ann, "a4", "0.10", None, {}),
        (bob, "b1", "0.30", holds["b1"], {"provider": "ecb"}),
        (bob, "b2", "0.30", released, {}),
    ]
    return [ann, bob], calls


def _unhold(client_id: int, hold: HeldCredit) -> None:
    Client.objects.filter(pk=client_id).update(held=F("held") - hold.amount)


@pytest.mark.parametrize("form", [SQL_ASYNC, SQL_SYNC, ORM])
async def test_calls_settled_at_once_leave_the_books_they_leave_one_by_one(
    form: str, money: Money, request: pytest.FixtureRequest
) -> None:
    # given a busy moment: six calls of two clients finishing together
    clients, calls = await a_busy_moment(money)

    # when they settle at the same moment
    results = await settle_all(money, calls)

    # then every call has its row, and the books are what six settles one by one leave
    assert all(isinstance(r, LedgerEntry) and r.pk for r in results), results
    assert sorted(r.request_id for r in results) == ["a1", "a2", "a3", "a4", "b1", "b2"]
    ann, bob = [await books(c) for c in clients]
    assert (ann["balance"], ann["held"], bob["balance"], bob["held"]) == (
        Decimal("-0.7000"),
        Decimal("0"),
        Decimal("1.4000"),
        Decimal("0"),
    )
    assert ann["holds"] == [] and bob["holds"] == []
    buckets = {(row[0], row[3], row[4]): row[5:] for row in ann["rollup"]}
    assert buckets[(clients[0].pk, "fixer", "succeeded")] == (3, Decimal("0.0030"), Decimal("0.7"))
    assert buckets[(clients[0].pk, "", "failed")] == (1, Decimal("0"), Decimal("0"))
    assert buckets[(clients[1].pk, "ecb", "succeeded")] == (1, Decimal("0.0010"), Decimal("0.3"))
    assert buckets[(clients[1].pk, "fixer", "succeeded")] == (1, Decimal("0.0010"), Decimal("0.3"))
    # each call got back its own row
    assert [r.request_id for r in results] == [c[1] for c in calls]
    ids = await database_sync_to_async(
        lambda: dict(LedgerEntry.objects.values_list("request_id", "pk"))
    )()
    assert {r.request_id: r.pk for r in results} == ids


@pytest.fixture
def money(form: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Money:
    if form == ORM:
        from apps.core import statements

        monkeypatch.setattr(statements, "sql_enabled", lambda: False)
    if form == SQL_ASYNC:
        request.getfixturevalue("statements_sent")
    return Money(form)


async def test_calls_settling_at_once_share_one_statement(statements_sent: list[str]) -> None:
    # given twelve calls of one client in flight
    money = Money(SQL_ASYNC)
    client = await new_client(credit="100")
    holds = [await money.hold(client, "0.30", f"c{n}") for n in range(12)]
    statements_sent.clear()

    # when all finish at once
    results = await settle_all(
        money, [(client, f"c{n}", "0.30", hold, {}) for n, hold in enumerate(holds)]
    )

    # then they were written by one statement, the group form
    assert all(isinstance(r, LedgerEntry) for r in results)
    assert len(statements_sent) == 1
    assert "UNNEST" in statements_sent[0]
    books_ = await books(client)
    assert (books_["balance"], books_["held"], len(books_["rows"])) == (
        Decimal("-3.6000"),
        Decimal("0"),
        12,
    )


async def test_a_lone_call_goes_at_once_as_the_one_call_statement(
    statements_sent: list[str],
) -> None:
    # given one call in flight
    money = Money(SQL_ASYNC)
    client = await new_client()
    held = await money.hold(client, "0.30", "alone")
    statements_sent.clear()

    # when it settles alone
    entry = await money.settle(client, "alone", price="0.30", hold=held)

    # then it was the one-call statement
    assert entry.pk is not None
    assert len(statements_sent) == 1 and "UNNEST" not in statements_sent[0]


async def test_a_call_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_written(
    statements_sent: list[str],
) -> None:
    # given four calls finishing together, one of which names a service longer than its column
    money = Money(SQL_ASYNC)
    client = await new_client()
    holds = [await money.hold(client, "0.30", f"g{n}") for n in range(4)]
    calls: list[tuple[Any, ...]] = [
        (client, f"g{n}", "0.30", hold, {}) for n, hold in enumerate(holds)
    ]
    calls[2] = (client, "g2", "0.30", holds[2], {"service": "s" * 60})

    # when they settle at the same moment
    results = await settle_all(money, calls)

    # then only that call failed; the other three are charged and their holds dropped
    assert isinstance(results[2], psycopg.errors.StringDataRightTruncation)
    assert all(isinstance(results[n], LedgerEntry) for n in (0, 1, 3))
    books_ = await books(client)
    assert books_["balance"] == Decimal("-0.9000")
    assert books_["holds"] == [("g2", Decimal("0.3000"))]  # left to the dangling-hold release
    assert books_["held"] == Decimal("0.3000")
    assert sorted(r[0] for r in books_["rows"]) == ["g0", "g1", "g3"]


async def test_the_settle_of_a_cancelled_caller_is_still_written(
    statements_sent: list[str],
) -> None:
    # given three calls settling together, one of whose callers goes away meanwhile
    client = await new_client()
    fields = [call_fields(client, f"x{n}", price=Decimal("0.10")) for n in range(3)]
    tasks = [asyncio.ensure_future(aledger_record_call(hold=None, **f)) for f in fields]
    await asyncio.sleep(0)
    tasks[1].cancel()

    # when the group is written
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.sleep(0.2)

    # then the others are charged, and whatever was written of the cancelled one, the
    # balance is the sum of the ledger's rows
    books_ = await books(client)
    written = [row[0] for row in books_["rows"]]
    assert {"x0", "x2"} <= set(written)
    assert books_["balance"] == sum(row[3] for row in books_["rows"])


async def test_holds_taken_at_once_share_one_statement(statements_sent: list[str]) -> None:
    # given a client with room for all of its calls
    money = Money(SQL_ASYNC)
    client = await new_client(credit="10")
    statements_sent.clear()

    # when eight calls hold their price at the same moment
    holds = await asyncio.gather(*(money.hold(client, "0.30", f"h{n}") for n in range(8)))

    # then one statement took every hold, each call its own
    assert len(statements_sent) == 1 and "UNNEST" in statements_sent[0]
    assert all(hold is not None for hold in holds)
    assert len({hold.id for hold in holds if hold}) == 8
    books_ = await books(client)
    assert books_["held"] == Decimal("2.4000")
    assert books_["holds"] == sorted((f"h{n}", Decimal("0.3000")) for n in range(8))


async def test_holds_at_once_past_the_limit_get_the_verdicts_they_get_one_by_one(
    statements_sent: list[str],
) -> None:
    # given a client with 1.00 of credit, and another one with plenty
    money = Money(SQL_ASYNC)
    tight, roomy = await new_client(credit="1.0000"), await new_client(credit="10")

    # when calls of both hold at the same moment: 0.40, 0.50 and 0.30 of the tight one's
    asked = [(tight, "0.40", "t1"), (roomy, "0.30", "r1"), (tight, "0.50", "t2"),
             (tight, "0.30", "t3"), (roomy, "0.30", "r2")]  # fmt: skip
    holds = await asyncio.gather(*(money.hold(c, amount, rid) for c, amount, rid in asked))

    # then the tight client's first two fit and its third does not (0.40 + 0.50 + 0.30 > 1),
    # as one by one in the order they came; the other client's calls are held
    assert [hold is not None for hold in holds] == [True, True, True, False, True]
    assert (await books(tight))["held"] == Decimal("0.9000")
    assert (await books(roomy))["held"] == Decimal("0.6000")
    assert [request_id for request_id, _ in (await books(tight))["holds"]] == [
        "r1",
        "r2",
        "t1",
        "t2",
    ]
    # the group went first, then the tight client's calls one by one
    assert len(statements_sent) == 4


async def test_with_group_commit_off_each_call_sends_its_own_statement(
    statements_sent: list[str], settings: Any
) -> None:
    # given group commit turned off (DB_GROUP_COMMIT=false)
    settings.GATEWAY_DB_GROUP_COMMIT = False
    money = Money(SQL_ASYNC)
    client = await new_client(credit="10")
    statements_sent.clear()

    # when four calls hold at the same moment
    holds = await asyncio.gather(*(money.hold(client, "0.30", f"o{n}") for n in range(4)))

    # then each sent its own one-call statement
    assert all(holds)
    assert len(statements_sent) == 4 and not any("UNNEST" in s for s in statements_sent)


async def test_a_hold_does_not_wait_for_the_disk_and_the_settle_after_it_does(
    statements_sent: list[str],
) -> None:
    # given a call alone on the loop's pool (one connection)
    money = Money(SQL_ASYNC)
    client = await new_client()

    # when it holds, then settles
    held = await money.hold(client, "0.30", "durable")
    await money.settle(client, "durable", price="0.30", hold=held)

    # then the hold's own transaction committed asynchronously, the settle's did not, and
    # the connection is back to durable commits for whatever it runs next
    hold_sql, settle_sql = statements_sent
    assert "set_config('synchronous_commit', 'off', true)" in hold_sql
    assert "synchronous_commit" not in settle_sql
    pool = asyncdb.db_pool()
    assert pool is not None
    async with pool.connection() as conn:
        cursor = await conn.execute("SHOW synchronous_commit")
        assert await cursor.fetchone() == ("on",)
    assert (await books(client))["balance"] == Decimal("-0.3000")


@pytest.mark.parametrize("form", [SQL_ASYNC, SQL_SYNC, ORM])
async def test_a_settle_never_drops_another_clients_hold(form: str, money: Money) -> None:
    # given a hold of bob's, and a late settle of ann's naming that hold's id (a hold whose
    # commit a database crash lost, its id handed out again)
    ann, bob = await new_client(), await new_client()
    bobs = await money.hold(bob, "0.30", "bob")
    assert bobs is not None

    # when ann's call settles, alone and beside another of hers
    await settle_all(money, [(ann, "late", "0.30", bobs, {}), (ann, "other", "0.10", None, {})])

    # then ann is charged, and bob's hold and held are untouched
    assert (await books(ann))["balance"] == Decimal("-0.4000")
    assert (await books(ann))["held"] == Decimal("0")
    assert (await books(bob))["held"] == Decimal("0.3000")
    assert (await books(bob))["holds"] == [("bob", Decimal("0.3000"))]


def rows_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The group's rows cannot be read back once it committed."""

    def unreadable(group: Any, rows: Any) -> Any:
        raise RuntimeError("the rows could not be read")

    monkeypatch.setattr(CALL_SETTLE, "group_results", unreadable)


def answer_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """The statement's answer is lost once it has run."""

    async def lost(self: psycopg.AsyncCursor[Any]) -> Any:
        raise RuntimeError("the answer was lost")

    monkeypatch.setattr(psycopg.AsyncCursor, "fetchall", lost)


@pytest.mark.parametrize("failure", [rows_unreadable, answer_lost])
async def test_a_group_that_ran_is_never_sent_again(
    failure: Callable[[pytest.MonkeyPatch], None],
    statements_sent: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given three calls settling together, and what follows their group's statement failing
    failure(monkeypatch)
    money = Money(SQL_ASYNC)
    client = await new_client()
    statements_sent.clear()

    # when they settle at the same moment
    results = await settle_all(money, [(client, f"w{n}", "0.10", None, {}) for n in range(3)])

    # then each call learns of the failure, and the group (committed) was not sent again call
    # by call (which would have charged every call twice)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert len(statements_sent) == 1
    books_ = await books(client)
    assert len(books_["rows"]) == 3 and books_["balance"] == Decimal("-0.3000")
