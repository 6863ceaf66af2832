"""Small shared state for all gateway processes: version counters, and the helpers that
rate limits, breakers and weights use to reach Redis (or fall back when it is unreachable).

Backed by Redis when REDIS_URL is set (shared across processes and hosts), by process memory
otherwise (the embedded run is one process). The hot path uses the asyncio client; admin
actions, commands and signals use the sync one.
"""

import asyncio
import logging
import threading
import time
import weakref

import redis
import redis.asyncio as aredis
from django.conf import settings

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


async def close_async_client() -> None:
    """Close this event loop's client (a short-lived loop, e.g. a Celery task's)."""
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
    """One pooled client per event loop (tests run several loops in one process)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aredis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        _async_clients[loop] = client
    return client


def bump(name: str) -> None:
    """Increase a version counter, so every process drops what it cached under it."""
    key = KEY_PREFIX + name
    if uses_redis():
        try:
            sync_client().incr(key)
            return
        except redis.RedisError:
            logger.warning("Redis unreachable: version %s bumped in this process only", name)
    with _memory_lock:
        _memory[key] = _memory.get(key, 0) + 1


async def read_versions(*names: str) -> tuple[int, ...]:
    keys = [KEY_PREFIX + name for name in names]
    if uses_redis():
        try:
            values = await async_client().mget(keys)
            return tuple(int(v) if v is not None else 0 for v in values)
        except (redis.RedisError, OSError):
            logger.warning("Redis unreachable: using this process's cached versions")
    return tuple(_memory.get(key, 0) for key in keys)


def read_versions_sync(*names: str) -> tuple[int, ...]:
    keys = [KEY_PREFIX + name for name in names]
    if uses_redis():
        try:
            values = sync_client().mget(keys)
            return tuple(int(v) if v is not None else 0 for v in values)  # type: ignore[union-attr]
        except redis.RedisError:
            logger.warning("Redis unreachable: using this process's cached versions")
    return tuple(_memory.get(key, 0) for key in keys)


_async_blocking_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def async_blocking_client() -> aredis.Redis:
    """Like async_client, but a burst that uses every pooled connection waits (up to 2 s)
    for one to come free instead of failing at once with MaxConnectionsError.

    For counters that must not be skipped under load: rate limits, free-call allowances.
    """
    loop = asyncio.get_running_loop()
    client = _async_blocking_clients.get(loop)
    if client is None:
        pool = aredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=100,
            timeout=2.0,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
        )
        client = aredis.Redis(connection_pool=pool)
        _async_blocking_clients[loop] = client
    return client


async def read_versions_waiting(*names: str) -> tuple[int, ...]:
    """read_versions on the waiting pool (async_blocking_client): a burst of calls in one
    process waits for a connection instead of reading version 0 and rebuilding its caches."""
    keys = [KEY_PREFIX + name for name in names]
    if uses_redis():
        try:
            values = await async_blocking_client().mget(keys)
            return tuple(int(v) if v is not None else 0 for v in values)
        except (TimeoutError, redis.RedisError, OSError):
            logger.warning("Redis unreachable: using this process's cached versions")
    return tuple(_memory.get(key, 0) for key in keys)
