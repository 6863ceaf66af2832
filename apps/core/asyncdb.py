"""The database statements on every call's path, sent straight from the event loop.

A call takes two statements: its credit hold before the provider is asked and its settle
after (apps.billing.statements, apps.ledger.statements; apps.core.statements.arun sends
them here). Through Django's ORM each is a hop to a thread and back, and under load those
threads contend with the event loop for the GIL.
Here they go over a psycopg AsyncConnectionPool of this process and event loop: no thread,
no ORM compile, and each statement is prepared on its connection after a few executions
(DB_PREPARE_THRESHOLD), so PostgreSQL stops re-planning it.

Only on PostgreSQL, and only while GATEWAY_DB_ASYNC is on (the default). Everything else,
and every statement that must share a transaction with ORM work (an idempotent call's
stored answer, a service's hook), still goes through Django's connection. Tests inside a
transaction of Django's connection turn it off: another connection cannot see their rows.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from apps.core.errors import DatabaseUnavailable

logger = logging.getLogger(__name__)

POOL_APPLICATION_NAME = "gateway-calls"

# After a pool timed out, for RECENT_TIMEOUT_S its next callers wait FAST_TIMEOUT_S at most.
RECENT_TIMEOUT_S = 10.0
FAST_TIMEOUT_S = 0.5
_timed_out_at: weakref.WeakKeyDictionary[AsyncConnectionPool, float] = weakref.WeakKeyDictionary()

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
    weakref.WeakKeyDictionary()
)


def direct_db_enabled() -> bool:
    return bool(settings.GATEWAY_DB_ASYNC) and connections["default"].vendor == "postgresql"


async def open_db_pool() -> None:
    """Give this event loop a pool, for a loop that serves calls for a long time (the ASGI
    server's). Loops that live for one call or one task (a Celery task's, the Django-side
    ViewSet's under WSGI) have none and take Django's pooled connection instead of opening one.

    DB_ASYNC is read when a loop's pool would be opened; on every later call of the loop
    this is one dictionary lookup.
    """
    loop = asyncio.get_running_loop()
    if loop in _pools or not direct_db_enabled():
        return
    forget_closed_loops()
    pool = _pools[loop] = _new_pool()
    await pool.open()


def db_pool() -> AsyncConnectionPool | None:
    """This event loop's pool; None when calls here go through Django's connection."""
    return _pools.get(asyncio.get_running_loop()) if _pools else None


def _new_pool() -> AsyncConnectionPool:
    params: dict[str, Any] = connections["default"].get_connection_params()
    params.pop("cursor_factory", None)  # Django's sync cursor class
    params["autocommit"] = True  # each statement of the call path is its own transaction
    params["prepare_threshold"] = settings.GATEWAY_DB_PREPARE_THRESHOLD
    # Named in pg_stat_activity, so ops can tell the call path's connections from the rest.
    params.setdefault("application_name", POOL_APPLICATION_NAME)
    return AsyncConnectionPool(
        kwargs=params,
        min_size=0,  # no connection before the first call
        max_size=settings.GATEWAY_DB_ASYNC_POOL_SIZE,
        timeout=settings.GATEWAY_DB_ASYNC_POOL_TIMEOUT_S,
        name=POOL_APPLICATION_NAME,
        open=False,
    )


@asynccontextmanager
async def live_connection(pool: AsyncConnectionPool) -> AsyncIterator[AsyncConnection[Any]]:
    """A connection of `pool` whose server is still there.

    An idle connection has nothing to read: when its socket is readable, the server has
    closed it (a restart, an idle timeout, pg_terminate_backend) and said why. Such a one is
    closed and the next taken, so that after a restart no call is the one to find out. One
    poll per call; psycopg's own check would cost a round trip, and its retry waits a second
    from the second stale connection on.
    """
    conn = await _getconn(pool)
    for _ in range(pool.max_size):
        if not _server_went_away(conn):
            break
        logger.info("dropping a connection the server closed")
        await conn.close()
        await pool.putconn(conn)  # a closed connection leaves the pool
        conn = await _getconn(pool)
    try:
        yield conn
    finally:
        await pool.putconn(conn)


async def _getconn(pool: AsyncConnectionPool) -> AsyncConnection[Any]:
    """pool.getconn(), but briefly while the pool recently found no connection in time.

    The database is then most likely away, and a call that meets it must still answer its
    503 inside its deadline: its failure is recorded over this pool too, and two full pool
    timeouts in a row would pass a 5 s deadline. Once a connection comes, the full timeout
    is back.
    """
    failed_at = _timed_out_at.get(pool)
    recently = failed_at is not None and time.monotonic() - failed_at < RECENT_TIMEOUT_S
    try:
        conn = await pool.getconn(timeout=FAST_TIMEOUT_S if recently else None)
    except PoolTimeout as exc:
        _timed_out_at[pool] = time.monotonic()
        raise DatabaseUnavailable() from exc
    _timed_out_at.pop(pool, None)
    return conn


def _server_went_away(conn: AsyncConnection[Any]) -> bool:
    if conn.closed:
        return True
    waiting = select.poll()  # not select(): a busy server's descriptors pass 1024
    waiting.register(conn.pgconn.socket, select.POLLIN)
    return bool(waiting.poll(0))


async def close_db_pool() -> None:
    """Close this event loop's pool: a worker shutting down (apps.gateway.lifespan), a test's
    loop."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


def forget_closed_loops() -> None:
    """Close the connections of pools whose event loop closed without closing them.

    asyncio cannot run the pool's own close any more; the connections are closed directly,
    so that PostgreSQL does not keep them (and a test database can still be dropped).
    """
    for loop, pool in list(_pools.items()):
        if loop.is_closed():
            del _pools[loop]
            _finish(pool)


def close_all_pools() -> None:
    """Close every pool's connections from outside their loops (the end of a test session)."""
    for loop, pool in list(_pools.items()):
        del _pools[loop]
        _finish(pool)


def _finish(pool: AsyncConnectionPool) -> None:
    pool._closed = True  # nothing may take a connection from it any more
    for conn in list(pool._pool):
        conn.pgconn.finish()
    pool._pool.clear()
