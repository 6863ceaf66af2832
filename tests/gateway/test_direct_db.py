"""The hold and the settle of a call served from the ASGI server's event loop go over that
loop's own psycopg pool (apps.core.asyncdb), not through Django's connection on a thread:
the same two statements, the same money, and PostgreSQL keeps them prepared."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test import override_settings

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core import asyncdb
from apps.ledger.models import LedgerDay, LedgerEntry
from gateway_project.asgi import application
from tests.support.asgi import asgi_post
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
PRICE = Decimal("0.0100")
T = TypeVar("T")

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def pool_closed_with_the_loop() -> AsyncIterator[None]:
    """The test's loop closes its pool before pytest-asyncio cancels what is left on it."""
    yield
    await asyncdb.close_db_pool()


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The text of every statement sent over a psycopg async connection, in order."""
    sent: list[str] = []
    execute = psycopg.AsyncCursor.execute

    async def spy(self, query, params=None, **kwargs):
        sent.append(" ".join(str(query).split()))
        return await execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.AsyncCursor, "execute", spy)
    yield sent


async def orm(read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """ORM work from the test's event loop, its connection given back after (channels)."""
    return await database_sync_to_async(read)(*args, **kwargs)


async def call(caller, body: dict | None = None) -> tuple[int, dict]:
    messages = await asgi_post(LATEST, body or {"base": "EUR"}, caller.headers)
    return messages[0]["status"], json.loads(messages[1]["body"])


async def test_a_call_holds_and_settles_in_two_statements_over_the_loops_pool(
    caller, sandbox_only, statements
):
    # given a warm process
    await call(caller)
    statements.clear()

    # when a call is served
    status, answer = await call(caller)

    # then its hold and its settle were the only statements, both over the pool
    assert status == 200
    hold, settle = statements
    assert hold.startswith("WITH reserved AS ( UPDATE")
    assert settle.startswith("WITH entry AS (INSERT INTO")
    # and the money is right: two rows, two charges, no hold left, the day's rollup counted
    row = await orm(LedgerEntry.objects.get, request_id=answer["request_id"])
    assert (row.status, row.provider, row.price, row.cost, row.amount) == (
        "succeeded",
        "sandbox",
        PRICE,
        Decimal("0.0010"),
        -PRICE,
    )
    assert row.routing and row.attempts[0]["provider"] == "sandbox"
    client = await orm(Client.objects.get, pk=caller.client.pk)
    assert (client.balance, client.held) == (-2 * PRICE, Decimal("0"))
    assert not await orm(CreditHold.objects.exists)
    day = await orm(LedgerDay.objects.get, client=caller.client)
    assert (day.calls, day.revenue, day.cost) == (2, 2 * PRICE, Decimal("0.0020"))


async def test_a_call_past_the_credit_limit_is_refused_and_holds_nothing(
    caller, sandbox_only, statements
):
    # given a client with no credit
    caller.client.credit_limit = Decimal("0")
    await orm(caller.client.save, update_fields=["credit_limit"])

    # when it calls
    status, problem = await call(caller)

    # then 402, nothing held or charged, and the refusal is on the ledger
    assert status == 402
    client = await orm(Client.objects.get, pk=caller.client.pk)
    assert (client.balance, client.held) == (Decimal("0"), Decimal("0"))
    assert not await orm(CreditHold.objects.exists)
    row = await orm(LedgerEntry.objects.get, request_id=problem["request_id"])
    assert (row.status, row.amount, row.http_status) == ("rejected", Decimal("0"), 402)
    assert len(statements) == 2  # the refused hold, the row


async def test_a_call_every_provider_fails_releases_its_hold_uncharged(
    caller, fixer_only, respx_mock
):
    # given fixer, answering 500
    respx_mock.get(url__startswith="https://fixer.test/api/latest").respond(500)

    # when a call is made
    status, problem = await call(caller)

    # then 502, the hold released, nothing charged
    assert status == 502
    row = await orm(LedgerEntry.objects.get, request_id=problem["request_id"])
    assert (row.status, row.amount, row.provider) == ("failed", Decimal("0"), "")
    assert row.attempts[0]["provider"] == "fixer"
    client = await orm(Client.objects.get, pk=caller.client.pk)
    assert (client.balance, client.held) == (Decimal("0"), Decimal("0"))
    assert not await orm(CreditHold.objects.exists)


async def test_postgresql_keeps_the_two_statements_prepared(caller, sandbox_only):
    # given more calls than DB_PREPARE_THRESHOLD
    for _ in range(7):
        assert (await call(caller))[0] == 200

    # then the connection that served them holds the hold and the settle prepared
    pool = asyncdb.db_pool()
    assert pool is not None
    async with pool.connection() as conn:
        cursor = await conn.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [" ".join(text.split()) for (text,) in await cursor.fetchall()]
    assert any(text.startswith("WITH reserved AS ( UPDATE") for text in prepared)
    assert any(text.startswith("WITH entry AS (INSERT INTO") for text in prepared)


async def test_without_db_async_the_call_goes_through_djangos_connection(
    caller, sandbox_only, statements
):
    # when a call is served with DB_ASYNC off
    with override_settings(GATEWAY_DB_ASYNC=False):
        status, answer = await call(caller)

    # then no statement went over psycopg's async connections, and the call is recorded
    assert status == 200
    assert statements == []
    assert asyncdb.db_pool() is None
    assert await orm(LedgerEntry.objects.filter(request_id=answer["request_id"]).exists)


async def test_after_the_server_dropped_the_pools_connections_the_next_call_is_served(
    caller, sandbox_only
):
    # given a loop whose pool holds connections (calls at once share their statements, so
    # three are taken at once here)
    results = await asyncio.gather(*(call(caller) for _ in range(3)))
    assert [status for status, _ in results] == [200, 200, 200]
    pool = asyncdb.db_pool()
    assert pool is not None
    await asyncio.gather(*(hold_a_connection(pool) for _ in range(3)))
    assert pool.get_stats()["pool_available"] >= 2

    # when PostgreSQL ends every one of them (as a restart does)
    ended = await orm(terminate_pool_connections)
    assert ended >= 2

    # then the next call is served on a new connection, and recorded
    status, answer = await call(caller)
    assert status == 200
    assert await orm(LedgerEntry.objects.filter(request_id=answer["request_id"]).exists)
    client = await orm(Client.objects.get, pk=caller.client.pk)
    assert (client.balance, client.held) == (-4 * PRICE, Decimal("0"))


async def hold_a_connection(pool: Any) -> None:
    async with pool.connection():
        await asyncio.sleep(0.05)


def terminate_pool_connections() -> int:
    """End the sessions of apps.core.asyncdb's pools (they name themselves)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [asyncdb.POOL_APPLICATION_NAME],
        )
        (ended,) = cursor.fetchone()
    # An ended session's backend sends its goodbye to the socket before it exits.
    wait_until(lambda: not pool_backends(), timeout=10, what="the ended sessions to exit")
    return ended


def pool_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [asyncdb.POOL_APPLICATION_NAME],
        )
        (count,) = cursor.fetchone()
    return int(count)


async def test_a_worker_shutting_down_closes_its_pools_connections(caller, sandbox_only):
    # given a worker's loop that served a call over its pool
    assert (await call(caller))[0] == 200
    assert await orm(pool_sessions) >= 1

    # when the server runs the ASGI lifespan: startup, then shutdown
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    await application({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send)

    # then both steps complete, and PostgreSQL no longer has the pool's sessions
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert asyncdb.db_pool() is None
    assert await orm(pool_sessions) == 0


def pool_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = %s AND datname = current_database()",
            [asyncdb.POOL_APPLICATION_NAME],
        )
        (count,) = cursor.fetchone()
    return count
