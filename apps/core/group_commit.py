"""Group commit: the money statements of concurrent calls sent as one statement, one commit.

Every call's path ends in a statement that commits (its settle: apps.ledger.statements), and
under load most of PostgreSQL's work per call is per statement and per commit, not per row:
parse and bind, a snapshot, the client's row rewritten, a WAL flush. Here the calls of one
event loop that reach the same statement while an earlier group of theirs is being written
wait for it and then go together: one statement (the rows passed as arrays), one round
trip, one commit. Each call still gets its own result only once that statement, with its
own row, has committed: nothing is answered from a write that might still fail.

There is no timer. A call that finds no group being written goes at once (after one turn of
the event loop, so that calls finishing in the same turn join it); a lone call pays nothing.
Groups grow only with the load, as calls arrive while the previous group is on the wire.

A group the server refused as a whole because of one call's data (a constraint, a value the
column refuses) is tried again call by call, so that only that call fails. A database that
went away fails the whole group, as it fails a lone call: a settle's own retry
(apps.gateway.settle) writes it once the database is back; a hold is answered 503. Anything
that fails after the statement ran (reading its rows, returning the connection) fails the
group's calls and is never sent again: the group may have committed. A statement may also
answer some calls AGAIN (a group of holds that did not fit the credit as a whole): those are
sent again one by one, in the order they came, for their own verdict.
"""

from __future__ import annotations

import asyncio
import weakref
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.conf import settings

from apps.core.asyncdb import db_pool, live_connection
from apps.core.errors import database_unavailable
from apps.core.statements import Params, Row, Statement, arun

A = TypeVar("A")
R = TypeVar("R")

# At most this many calls share one statement (its parameters are arrays of this length).
MAX_GROUP = 64


class Again:
    """A call the group could not decide: it is sent again on its own."""


AGAIN = Again()


class GroupStatement(Statement[A, R], Generic[A, R]):
    """A money statement that can also be sent for many calls at once.

    `sql`/`params`/`result`/`orm` are the one-call statement (apps.core.statements); the
    group form's text is constant too, whatever the group's size, so it stays prepared.
    """

    @property
    def pool_sql(self) -> str:
        """The one-call text sent over the pool, as a transaction of its own (by default
        `sql`; a statement may relax what only its own transaction needs)."""
        return self.sql

    @property
    @abstractmethod
    def group_sql(self) -> str:
        """The statement for a group of calls: one row back per call, in the calls' order."""

    @abstractmethod
    def group_params(self, group: Sequence[A]) -> Params:
        """The parameters of `group_sql` for these calls, in this order."""

    def group_results(self, group: Sequence[A], rows: list[Row]) -> list[R | Again]:
        """Each call's result from the group's rows (by default one row per call, in order);
        AGAIN for a call to send again alone."""
        if len(rows) != len(group):
            raise AssertionError(f"{len(group)} calls sent, {len(rows)} rows back")
        return [self.result(args, row) for args, row in zip(group, rows, strict=True)]


@dataclass(eq=False)
class _Waiting(Generic[A, R]):
    """The calls of one event loop waiting to be sent, and whether a group is on the wire."""

    calls: list[tuple[A, asyncio.Future[R]]] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None


_waiting: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[GroupStatement[Any, Any], _Waiting[Any, Any]]
] = weakref.WeakKeyDictionary()


async def arun_grouped(statement: GroupStatement[A, R], args: A) -> R:
    """`arun(statement, args)`, sent together with the concurrent calls of this loop.

    Without this loop's pool (no PostgreSQL, a short-lived loop), or with DB_GROUP_COMMIT
    off, it is `arun` itself.
    """
    pool = db_pool()
    if pool is None or not settings.GATEWAY_DB_GROUP_COMMIT:
        return await arun(statement, args)
    loop = asyncio.get_running_loop()
    waiting: _Waiting[A, R] = _waiting.setdefault(loop, {}).setdefault(statement, _Waiting())
    result: asyncio.Future[R] = loop.create_future()
    waiting.calls.append((args, result))
    if waiting.sender is None:
        waiting.sender = loop.create_task(_send_while_waiting(statement, waiting))
    return await result


async def _send_while_waiting(statement: GroupStatement[A, R], waiting: _Waiting[A, R]) -> None:
    try:
        while waiting.calls:
            await asyncio.sleep(0)  # the calls finishing in this turn of the loop join
            group, waiting.calls = waiting.calls[:MAX_GROUP], waiting.calls[MAX_GROUP:]
            await _send(statement, group)
    finally:
        waiting.sender = None
        for _, result in waiting.calls:  # only when this task itself was cancelled
            result.cancel()
        waiting.calls.clear()


async def _send(statement: GroupStatement[A, R], group: list[tuple[A, asyncio.Future[R]]]) -> None:
    calls = [args for args, _ in group]
    try:
        rows = await _execute(statement, calls)
    except _AfterTheStatement as after:
        _fail(group, after.error)
        return
    except Exception as exc:
        if len(group) == 1 or database_unavailable(exc) is not None:
            _fail(group, exc)
            return
        # One call's data failed the group: each alone, one after the other (the pool is
        # small, and they may wait on the same row), so that only that one fails.
        await _send_each(statement, group)
        return
    except BaseException:
        for _, result in group:
            result.cancel()
        raise
    try:
        results = _results(statement, calls, rows)
    except Exception as exc:  # committed already: sending these calls again would repeat them
        _fail(group, exc)
        return
    again = []
    for (args, result), outcome in zip(group, results, strict=True):
        if isinstance(outcome, Again):
            again.append((args, result))
        elif not result.done():  # its caller may have been cancelled meanwhile
            result.set_result(outcome)
    # One by one, in the order they came; a caller gone meanwhile: nothing would settle
    # what it took.
    await _send_each(statement, again, skip_gone=True)


async def _send_each(
    statement: GroupStatement[A, R],
    calls: list[tuple[A, asyncio.Future[R]]],
    *,
    skip_gone: bool = False,
) -> None:
    """Send the calls alone, one after the other; if this task is cancelled meanwhile, the
    calls not sent yet are answered (cancelled) too, never left waiting."""
    for n, (args, result) in enumerate(calls):
        if skip_gone and result.done():
            continue
        try:
            await _send(statement, [(args, result)])
        except BaseException:
            for _, later in calls[n + 1 :]:
                later.cancel()
            raise


async def _execute(statement: GroupStatement[A, R], calls: list[A]) -> list[Row]:
    pool = db_pool()
    assert pool is not None
    alone = len(calls) == 1
    sql = statement.pool_sql if alone else statement.group_sql
    params = statement.params(calls[0]) if alone else statement.group_params(calls)
    executed = False
    try:
        async with live_connection(pool) as conn:
            cursor = await conn.execute(sql, params)
            executed = True
            return await cursor.fetchall()
    except Exception as exc:
        if executed and database_unavailable(exc) is None:
            raise _AfterTheStatement(exc) from exc
        raise


class _AfterTheStatement(Exception):
    """A failure once the statement had run: its group may have committed."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _results(statement: GroupStatement[A, R], calls: list[A], rows: list[Row]) -> list[R | Again]:
    if len(calls) == 1:
        return [statement.result(calls[0], rows[0] if rows else None)]
    return statement.group_results(calls, rows)


def _fail(group: list[tuple[A, asyncio.Future[R]]], exc: Exception) -> None:
    for _, result in group:
        if not result.done():
            result.set_exception(exc)
