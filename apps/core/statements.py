"""The executor of the money statements (apps.billing.statements, apps.ledger.statements).

A money statement is written once: its SQL text for PostgreSQL, and beside it the ORM steps
that do the same on other databases (the embedded SQLite run). `run` executes it on
Django's connection, `arun` from the event loop: over this loop's psycopg pool when it has
one (apps.core.asyncdb), else through Django's connection on a thread. On PostgreSQL either
form is one round trip, and the text never varies, so the server keeps it prepared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from asgiref.sync import sync_to_async
from django.db import connection

from apps.core.asyncdb import db_pool, live_connection
from apps.core.db import then_release_connection

A = TypeVar("A")
R = TypeVar("R")

Row = tuple[Any, ...]
Params = Sequence[Any] | Mapping[str, Any]


class Statement(ABC, Generic[A, R]):
    """One money statement: its arguments of type A become parameters, its one row an R."""

    @property
    @abstractmethod
    def sql(self) -> str:
        """The statement's text: the same on every execution (PostgreSQL keeps it prepared)."""

    @abstractmethod
    def params(self, args: A) -> Params:
        """The parameters of `sql` for one execution."""

    @abstractmethod
    def result(self, args: A, row: Row | None) -> R:
        """What the statement's returned row (None: no row) means to the caller."""

    @abstractmethod
    def orm(self, args: A) -> R:
        """The same writes through the ORM, for databases other than PostgreSQL."""


def sql_enabled() -> bool:
    """Whether statements are sent as SQL (PostgreSQL) rather than taken as ORM steps."""
    return connection.vendor == "postgresql"


def run(statement: Statement[A, R], args: A) -> R:
    """Execute `statement` on Django's connection (in the caller's transaction, if any)."""
    if not sql_enabled():
        return statement.orm(args)
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, statement.params(args))
        row = cursor.fetchone()
    return statement.result(args, row)


async def arun(statement: Statement[A, R], args: A) -> R:
    """Execute `statement` from the event loop, in a transaction of its own.

    Over this loop's pool when it has one; else through Django's connection on a thread,
    which goes back to Django's pool afterwards (a call must not keep it while a provider
    is awaited, and a broken one must not outlive its call).
    """
    pool = db_pool()
    if pool is None:
        return await sync_to_async(then_release_connection(run))(statement, args)
    async with live_connection(pool) as conn:
        cursor = await conn.execute(statement.sql, statement.params(args))
        row = await cursor.fetchone()
    return statement.result(args, row)
