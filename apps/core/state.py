"""Small shared state for all gateway processes: version counters, and the helpers that
rate limits, breakers and weights use to reach Redis (or fall back when it is unreachable).

Backed by Redis when REDIS_URL is set (shared across processes and hosts). Without it, rate
limits and breakers live in process memory, and version counters in the database as well
(the catalog's SharedVersion rows), read at most once per GATEWAY_SHARED_VERSIONS_TTL_S: a change
made by `gateway_apply` or another worker reaches every process within that time, with no
query per call. The hot path uses the asyncio client; admin actions, commands and signals use
the sync one.
"""

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence

import psycopg
import redis
import redis.asyncio as aredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError

from apps.core.db import connection_release

logger = logging.getLogger(__name__)

KEY_PREFIX = "gw:"

_memory: dict[str, int] = {}
_memory_lock = threading.Lock()
_sync_client: redis.Redis | None = None
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def uses_redis() -> bool:
    return bool(settings.REDIS_URL)


# What a Redis call raises when the server is down, refusing, or too slow to answer.
REDIS_ERRORS = (redis.RedisError, OSError, asyncio.TimeoutError)
# After a failure, shared state is served from process memory this long before Redis is
# tried again, so that a dead Redis costs one timeout per interval, not one per call.
REDIS_RETRY_INTERVAL_S = 5.0
_redis_down_until = 0.0
_last_warning = 0.0


def redis_usable() -> bool:
    """Redis is configured and has not failed in the last REDIS_RETRY_INTERVAL_S."""
    return uses_redis() and time.monotonic() >= _redis_down_until


def note_redis_unreachable(what: str) -> None:
    """Serve `what` from this process for a while; warn (at most once a minute)."""
    global _redis_down_until, _last_warning
    now = time.monotonic()
    _redis_down_until = now + REDIS_RETRY_INTERVAL_S
    if now - _last_warning >= 60 or _last_warning == 0.0:
        _last_warning = now
        logger.warning(
            "Redis unreachable: %s fall back to this process's own state (not shared)", what
        )


def redis_degraded() -> bool:
    """True while shared state is being served from process memory after a Redis failure."""
    return uses_redis() and time.monotonic() < _redis_down_until


def forget_redis_failure() -> None:
    """Try Redis again on the next call (tests, and after ops fixed it)."""
    global _redis_down_until, _last_warning
    _redis_down_until = _last_warning = 0.0


# Awaited, in order, before an event loop's client is closed: what was queued for Redis on
# that loop (the breakers' successes) is written first.
_before_close: list[Callable[[], Awaitable[None]]] = []


def before_client_close(hook: Callable[[], Awaitable[None]]) -> None:
    """Have close_async_client await `hook()` first (once, however often it is registered)."""
    if hook not in _before_close:
        _before_close.append(hook)


async def close_async_client() -> None:
    """Close this event loop's client (a short-lived loop, e.g. a Celery task's), once what was
    queued for it is written."""
    for hook in _before_close:
        await hook()
    client = _async_clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.aclose()


def sync_client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
        )
    return _sync_client


def async_client() -> aredis.Redis:
    """One pooled client per event loop (tests run several loops in one process).

    Its pool waits (up to 2 s) for a free connection when a burst uses them all, instead of
    failing at once with MaxConnectionsError: a counter skipped under load (a rate limit, a
    breaker) or a version read as missing (every cache rebuilt) costs far more than a wait.
    """
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=settings.GATEWAY_REDIS_MAX_CONNECTIONS,
            timeout=2.0,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        client = aredis.Redis(connection_pool=pool)
        _async_clients[loop] = client
    return client


# Bumps made while Redis was unreachable, replayed to Redis once it answers again, so the
# other processes learn of changes made here during the outage.
_pending_bumps: set[str] = set()


def bump(name: str) -> None:
    """Increase a version counter, so every process drops what it cached under it."""
    key = KEY_PREFIX + name
    if uses_redis():
        try:
            sync_client().incr(key)
            return
        except REDIS_ERRORS:
            logger.warning("Redis unreachable: version %s bumped in this process only", name)
            _pending_bumps.add(key)
    else:
        _database_bump(name)
    with _memory_lock:
        _memory[key] = _memory.get(key, 0) + 1


def forget_local_state() -> None:
    """Drop every process-local counter and remembered version (tests)."""
    global _database_read_at
    with _memory_lock:
        _memory.clear()
    _last_versions.clear()
    _pending_bumps.clear()
    forget_redis_failure()
    _database_read_at = float("-inf")


# The versions this process last read from Redis (or, without it, from the database). While
# Redis is unreachable they stand in for it (plus any bump made here meanwhile), so caches
# stay warm instead of being rebuilt on every call as if every version were new.
_last_versions: dict[str, int] = {}


def _remember(keys: list[str], values: Sequence[bytes | str | None]) -> tuple[int, ...]:
    versions = tuple(int(v) if v is not None else 0 for v in values)
    _last_versions.update(zip(keys, versions, strict=True))
    return versions


def _known(keys: list[str]) -> tuple[int, ...]:
    return tuple(_last_versions.get(key, 0) + _memory.get(key, 0) for key in keys)


async def read_versions(*names: str) -> tuple[int, ...]:
    keys = [KEY_PREFIX + name for name in names]
    if redis_usable():
        try:
            client = async_client()
            for pending in list(_pending_bumps):
                await client.incr(pending)
                _pending_bumps.discard(pending)
            return _remember(keys, await client.mget(keys))
        except REDIS_ERRORS:
            note_redis_unreachable("cached catalog and key versions")
    elif _database_due():
        await sync_to_async(_database_read_then_release)()
    return _known(keys)


async def read_versions_and_fields(
    names: Sequence[str], hashes: Sequence[str], fields: Sequence[str]
) -> tuple[tuple[int, ...], list[list[bytes | None]] | None]:
    """read_versions(*names) and, in the same round trip, `fields` of each of `hashes`: the
    hot path reads what it needs of its breakers with the versions it reads anyway. The
    fields are None when Redis was not read for them (not configured, unreachable, or a
    bump made during an outage still to replay)."""
    keys = [KEY_PREFIX + name for name in names]
    if not (hashes and redis_usable() and not _pending_bumps):
        return await read_versions(*names), None
    try:
        pipe = async_client().pipeline(transaction=False)
        pipe.mget(keys)
        for key in hashes:
            pipe.hmget(key, fields)
        versions, *values = await pipe.execute()
    except REDIS_ERRORS:
        note_redis_unreachable("cached catalog and key versions")
        return _known(keys), None
    return _remember(keys, versions), values


def read_versions_sync(*names: str) -> tuple[int, ...]:
    keys = [KEY_PREFIX + name for name in names]
    if redis_usable():
        try:
            client = sync_client()
            for pending in list(_pending_bumps):
                client.incr(pending)
                _pending_bumps.discard(pending)
            return _remember(keys, client.mget(keys))  # type: ignore[arg-type]  # sync client
        except REDIS_ERRORS:
            note_redis_unreachable("cached catalog and key versions")
    elif _database_due():
        _database_read()
    return _known(keys)


# -- without Redis: the counters in the database ------------------------------------------
# The table is the catalog's (SharedVersion): its app installs how to bump and read it when
# it is ready (CatalogConfig.ready), so this bottom layer imports no app above it.
_store_bump: Callable[[str], None] | None = None
_store_read: Callable[[], dict[str, int]] | None = None
_database_read_at = float("-inf")


def shared_versions_store(
    *, bump: Callable[[str], None], read: Callable[[], dict[str, int]]
) -> None:
    """Where the counters are kept without Redis: `bump(name)`, and `read()` of them all."""
    global _store_bump, _store_read
    _store_bump, _store_read = bump, read


# What the database raises when it is away (psycopg_pool's PoolTimeout is not wrapped).
DATABASE_ERRORS = (DatabaseError, psycopg.Error)


def _database_bump(name: str) -> None:
    if _store_bump is None:
        return  # before the apps are ready: nothing has been cached to go stale
    try:
        _store_bump(name)
    except DATABASE_ERRORS:
        logger.warning("Database unreachable: version %s bumped in this process only", name)


def _database_due() -> bool:
    """Without Redis, and the database not read for GATEWAY_SHARED_VERSIONS_TTL_S."""
    if uses_redis():
        return False
    return time.monotonic() - _database_read_at >= settings.GATEWAY_SHARED_VERSIONS_TTL_S


def _database_read() -> None:
    global _database_read_at
    if _store_read is None:
        return
    # Marked first: calls arriving meanwhile keep the versions known, instead of piling up.
    _database_read_at = time.monotonic()
    try:
        versions = _store_read()
    except DATABASE_ERRORS:
        logger.warning("Database unreachable: cached catalog and key versions kept")
        return
    _last_versions.update({KEY_PREFIX + name: value for name, value in versions.items()})


def _database_read_then_release() -> None:
    try:
        _database_read()
    finally:
        connection_release()
