"""Group commit (apps.core.group_commit) reviewed: under two event loops at once, each with
its own pool (as two server processes), holds near the credit limit never spend past it and
settles leave the balance the sum of the ledger's rows; two groups never deadlock on clients'
rows; calls a group answered AGAIN are all answered, and never sent for a caller
that went away."""

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, cast

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import HeldCredit, acredit_hold
from apps.billing.statements import CREDIT_HOLD, HoldRequest
from apps.core import asyncdb, group_commit
from apps.ledger.models import LedgerEntry
from apps.ledger.services import aledger_record_call
from tests import factories
from tests.billing.test_money import call_fields

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="groups are PostgreSQL's"),
]


@pytest.fixture(autouse=True)
def group_failures(monkeypatch: pytest.MonkeyPatch) -> list[BaseException]:
    """Every exception a statement sent by group commit raised (a call sent again alone
    after its group failed still succeeds: this is where a deadlock would show)."""
    failures: list[BaseException] = []
    execute = group_commit._execute

    async def spy(statement: Any, calls: list[Any]) -> Any:
        try:
            return await execute(statement, calls)
        except BaseException as exc:
            exc.add_note(f"{type(statement).__name__} of {len(calls)} calls")
            failures.append(exc)
            raise

    monkeypatch.setattr(group_commit, "_execute", spy)
    return failures


def assert_only_deadlocks(failures: list[BaseException]) -> None:
    """No group failed, not even as a deadlock's victim (groups lock clients in id order)."""
    assert failures == [], failures


def on_two_loops(work: Callable[[int], Awaitable[list[Any]]]) -> list[list[Any]]:
    """`work(n)` run at the same moment on two threads, each its own event loop and pool."""
    start = threading.Barrier(2)
    results: list[list[Any]] = [[], []]

    async def loop_of(n: int) -> None:
        await asyncdb.open_db_pool()
        assert asyncdb.db_pool() is not None
        try:
            start.wait()
            results[n] = await work(n)
        finally:
            await asyncdb.close_db_pool()

    threads = [threading.Thread(target=asyncio.run, args=(loop_of(n),)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def a_client(credit: str) -> Client:
    return cast(Client, factories.ClientFactory(credit_limit=Decimal(credit)))


def hold_of(client: Client, amount: str, request_id: str) -> Awaitable[HeldCredit | None]:
    return acredit_hold(
        client_id=client.pk, amount=Decimal(amount), request_id=request_id, method="fx.rates"
    )


def assert_books_add_up(clients: list[Client]) -> None:
    for client in clients:
        client.refresh_from_db()
        rows = LedgerEntry.objects.filter(client=client).values_list("amount", flat=True)
        holds = CreditHold.objects.filter(client=client).values_list("amount", flat=True)
        assert client.balance == sum(rows, Decimal(0)), client
        assert client.held == sum(holds, Decimal(0)), client
        assert client.balance - client.held >= -client.credit_limit, client


def test_holds_of_two_processes_at_once_never_pass_the_credit_limit() -> None:
    # given a client whose credit covers 33 calls at 0.03, and two others with plenty
    tight = a_client("1.0000")
    others = [a_client("100") for _ in range(2)]

    # when two processes each send 40 of its holds at once, mixed with the others' holds
    async def work(n: int) -> list[Any]:
        asked = [(tight, "0.03", f"t{n}-{i}") for i in range(40)]
        asked += [(others[i % 2], "0.05", f"o{n}-{i}") for i in range(20)]
        random.Random(n).shuffle(asked)
        return await asyncio.gather(
            *(hold_of(client, amount, rid) for client, amount, rid in asked),
            return_exceptions=True,
        )

    results = on_two_loops(work)

    # then nothing failed, exactly 33 of the tight client's 80 holds were taken, and the
    # books add up
    flat = [r for loop in results for r in loop]
    assert not [r for r in flat if isinstance(r, BaseException)], flat
    tight.refresh_from_db()
    assert CreditHold.objects.filter(client=tight).count() == 33
    assert tight.held == Decimal("0.9900")
    assert CreditHold.objects.exclude(client=tight).count() == 40
    assert_books_add_up([tight, *others])


def test_groups_of_two_processes_over_the_same_clients_settle_every_call_once(
    group_failures: list[BaseException],
) -> None:
    # given six clients, whose calls two processes hold and settle in rounds, in any order
    clients = [a_client("1000") for _ in range(6)]

    async def work(n: int) -> list[Any]:
        rng = random.Random(n)
        outcomes: list[Any] = []
        for round_ in range(40):
            some = [rng.choice(clients) for _ in range(rng.randint(2, 30))]
            ids = [f"p{n}-r{round_}-{i}" for i in range(len(some))]
            holds = await asyncio.gather(
                *(hold_of(c, "0.10", rid) for c, rid in zip(some, ids, strict=True)),
                return_exceptions=True,
            )
            outcomes += holds
            settles = [
                aledger_record_call(
                    hold=hold if isinstance(hold, HeldCredit) else None,
                    **call_fields(c, rid, price=Decimal("0.10"), service=rng.choice("ab")),
                )
                for c, rid, hold in zip(some, ids, holds, strict=True)
            ]
            outcomes += await asyncio.gather(*settles, return_exceptions=True)
        return outcomes

    results = on_two_loops(work)

    # then no call failed (no deadlock between the two processes' groups), every call has
    # exactly one row, and the books add up
    flat = [r for loop in results for r in loop]
    failures = [r for r in flat if isinstance(r, BaseException)]
    assert not failures, failures
    assert_only_deadlocks(group_failures)
    entries = [r for r in flat if isinstance(r, LedgerEntry)]
    assert LedgerEntry.objects.count() == len(entries)
    assert len({e.request_id for e in entries}) == len(entries)
    assert CreditHold.objects.count() == 0
    assert_books_add_up(clients)


def test_calls_of_two_processes_holding_and_settling_at_once_settle_every_call_once(
    group_failures: list[BaseException],
) -> None:
    # given eight clients, and two processes whose calls hold and settle continuously, so
    # that a group of holds and a group of settles of each process are on the wire together
    clients = [a_client("1000") for _ in range(8)]

    async def work(n: int) -> list[Any]:
        rng = random.Random(10 + n)

        async def call(i: int) -> LedgerEntry:
            client = rng.choice(clients)
            await asyncio.sleep(rng.random() / 50)
            hold = await hold_of(client, "0.10", f"q{n}-{i}")
            fields = call_fields(client, f"q{n}-{i}", price=Decimal("0.10"))
            return await aledger_record_call(hold=hold, **fields)

        return await asyncio.gather(*(call(i) for i in range(600)), return_exceptions=True)

    results = on_two_loops(work)

    # then no call and no group failed, and the books add up
    flat = [r for loop in results for r in loop]
    assert not [r for r in flat if isinstance(r, BaseException)]
    assert_only_deadlocks(group_failures)
    assert LedgerEntry.objects.count() == 1200
    assert CreditHold.objects.count() == 0
    assert_books_add_up(clients)


ORDER_OF_CLIENTS = (
    "SELECT client_id FROM (SELECT client_id, sum(amount) FROM UNNEST((%s)::bigint[], "
    "(%s)::numeric[]) AS call(client_id, amount) GROUP BY client_id) AS wanted"
)


def test_two_groups_of_holds_over_the_same_two_clients_do_not_deadlock() -> None:
    # given a realistic number of clients: a small group's UPDATE then takes the clients'
    # rows by index in the order its GROUP BY hashes them, a large group's by a scan of the
    # table, in the rows' order on disk; and two clients the small group takes in the
    # opposite order of the large one
    template = a_client("1000")
    columns = [f.attname for f in Client._meta.concrete_fields if not f.primary_key]
    Client.objects.bulk_create(
        Client(**{**{c: getattr(template, c) for c in columns}, "slug": f"many-{n}"})
        for n in range(2000)
    )
    ids = sorted(Client.objects.values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_client")

        def order(group: list[int], of: tuple[int, int]) -> list[int]:
            cursor.execute(ORDER_OF_CLIENTS, [group, [1] * len(group)])
            return [row[0] for row in cursor.fetchall() if row[0] in of]

        padding = ids[1000:1062]  # 64 calls: the large group's plan scans the table
        first, second = next(
            (a, b) for a in ids[:20] for b in ids[:20]
            if a > b and order([a, b], (a, b)) == [a, b]
        )  # fmt: skip
    small = [hold_request(first), hold_request(second)]
    big = [hold_request(first), hold_request(second), *(hold_request(p) for p in padding)]

    # when each group waits on a transaction that holds one of the two rows, and those end
    # one after the other (the small group then has `first` and waits for `second`; the big
    # one has `second` and asks for `first`)
    blocking_second, blocking_first = raw_connection(), raw_connection()
    for blocker, client_id in ((blocking_second, second), (blocking_first, first)):
        blocker.execute("SELECT 1 FROM accounts_client WHERE id = %s FOR UPDATE", [client_id])
    outcomes: dict[str, Any] = {}
    groups = [
        threading.Thread(target=send_group, args=(small, outcomes, "small")),
        threading.Thread(target=send_group, args=(big, outcomes, "big")),
    ]
    groups[1].start()
    time.sleep(0.3)
    groups[0].start()
    time.sleep(0.3)
    blocking_first.commit()
    time.sleep(0.3)
    blocking_second.commit()
    for group in groups:
        group.join(timeout=30)
    blocking_first.close()
    blocking_second.close()

    # then both groups took their holds: neither was chosen as a deadlock's victim
    assert not [o for o in outcomes.values() if isinstance(o, psycopg.errors.DeadlockDetected)]
    assert all(isinstance(o, list) for o in outcomes.values()), outcomes


def hold_request(client_id: int) -> HoldRequest:
    return HoldRequest(client_id, Decimal("0.10"), f"d-{client_id}", "fx.rates", timezone.now())


def raw_connection() -> psycopg.Connection[Any]:
    params = dict(connection.get_connection_params())
    params.pop("cursor_factory", None)
    return psycopg.connect(**params)


def send_group(group: list[Any], outcomes: dict[str, Any], name: str) -> None:
    try:
        with raw_connection() as conn:
            conn.autocommit = True
            rows = conn.execute(CREDIT_HOLD.group_sql, CREDIT_HOLD.group_params(group)).fetchall()
            outcomes[name] = CREDIT_HOLD.group_results(group, rows)
    except BaseException as exc:
        outcomes[name] = exc


def group_answered(
    monkeypatch: pytest.MonkeyPatch, group: Callable[[list[Any]], list[Any]], alone: Any
) -> None:
    """Statements answered without a database: a group by `group(calls)`, a call alone by
    awaiting `alone(call)`; the answers are the calls' results as they are."""

    async def execute(_: Any, calls: list[Any]) -> list[Any]:
        if len(calls) > 1:
            return group(calls)
        return cast(list[Any], await alone(calls[0]))

    monkeypatch.setattr(group_commit, "_execute", execute)
    monkeypatch.setattr(group_commit, "_results", lambda statement, calls, rows: rows)


def answered_again(calls: list[Any]) -> list[Any]:
    return [group_commit.AGAIN] * len(calls)


def refused(calls: list[Any]) -> list[Any]:
    raise psycopg.errors.StringDataRightTruncation("value too long")


@pytest.mark.parametrize("group", [answered_again, refused])
async def test_calls_sent_again_are_all_answered_when_the_sender_is_cancelled(
    group: Callable[[list[Any]], list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # given three calls their group answered AGAIN (or the server refused), the first of
    # which is being sent again alone on a connection that never answers
    await asyncdb.open_db_pool()
    statement = CREDIT_HOLD
    never = asyncio.Event()

    async def alone(call: Any) -> list[Any]:
        await never.wait()
        return [None]

    group_answered(monkeypatch, group, alone)
    try:
        calls = [
            asyncio.ensure_future(group_commit.arun_grouped(statement, hold_request(n)))
            for n in range(3)
        ]
        await asyncio.sleep(0.05)
        sender = group_commit._waiting[asyncio.get_running_loop()][statement].sender
        assert sender is not None

        # when the task sending them is cancelled (its loop shutting down)
        sender.cancel()
        done, pending = await asyncio.wait(calls, timeout=1)

        # then no caller is left waiting forever
        assert not pending
        assert all(call.cancelled() for call in done)
    finally:
        await asyncdb.close_db_pool()


async def test_a_hold_sent_again_is_not_taken_for_a_caller_gone_meanwhile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given two holds their group answered AGAIN, the first of which is slow to send alone
    await asyncdb.open_db_pool()
    sent_alone: list[str] = []
    first_sent = asyncio.Event()
    slow = asyncio.Event()

    async def alone(call: Any) -> list[Any]:
        sent_alone.append(call.request_id)
        first_sent.set()
        await slow.wait()
        return [None]

    group_answered(monkeypatch, answered_again, alone)
    try:
        calls = [
            asyncio.ensure_future(group_commit.arun_grouped(CREDIT_HOLD, hold_request(n)))
            for n in (1, 2)
        ]
        await first_sent.wait()

        # when the second one's caller goes away before its turn
        calls[1].cancel()
        slow.set()
        await asyncio.wait(calls, timeout=1)

        # then only the first was sent again: a hold of the second would have no settle
        assert sent_alone == ["d-1"]
        assert calls[0].result() is None
    finally:
        await asyncdb.close_db_pool()
