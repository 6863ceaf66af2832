"""Small shared state for all gateway processes: version counters and, later, counters for
rate limits, breakers and weights.

Backed by Redis when REDIS_URL is set (shared across processes and hosts), by process memory
otherwise (the embedded run is one process). The hot path uses the asyncio client; admin
actions, commands and signals use the sync one.
"""

import asyncio
import logging
import threading
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
