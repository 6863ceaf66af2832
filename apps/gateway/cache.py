"""The response cache: answers of cacheable methods, keyed on method + normalised payload.

Only methods whose spec is `cacheable` and whose routing policy sets `cache_ttl_s` are
cached; one GET per such call, one SET after a miss that a provider served. The cache is
shared by every client (the answer depends only on the payload); each hit is still charged
at the client's price and recorded with cost 0.

Redis when REDIS_URL is set; process memory otherwise (the embedded run). A Redis failure
is a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
from django.core.serializers.json import DjangoJSONEncoder

from apps.core import state

logger = logging.getLogger(__name__)

REDIS_FAILURES = (redis.RedisError, OSError, TimeoutError)
MEMORY_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedAnswer:
    data: dict[str, Any]
    provider: str  # the provider whose answer this is
    stored_at: float  # unix time


def response_cache_key(method: str, payload: dict[str, Any]) -> str:
    canonical = json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{state.KEY_PREFIX}cache:{method}:{digest}"


async def response_cache_get(key: str) -> CachedAnswer | None:
    try:
        if state.uses_redis():
            raw = await state.async_client().get(key)
        else:
            raw = _memory.get(key)
    except REDIS_FAILURES:
        logger.warning("Redis unreachable: the response cache misses")
        return None
    if raw is None:
        return None
    stored = json.loads(raw)
    return CachedAnswer(data=stored["data"], provider=stored["provider"], stored_at=stored["at"])


async def response_cache_put(key: str, *, data: dict[str, Any], provider: str, ttl_s: int) -> None:
    raw = json.dumps({"data": data, "provider": provider, "at": time.time()}, cls=DjangoJSONEncoder)
    try:
        if state.uses_redis():
            await state.async_client().set(key, raw, ex=ttl_s)
        else:
            _memory.put(key, raw, ttl_s)
    except REDIS_FAILURES:
        logger.warning("Redis unreachable: an answer was not cached")


class _MemoryCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        with self.lock:
            found = self.entries.get(key)
            if found is None or found[1] <= time.monotonic():
                self.entries.pop(key, None)
                return None
            return found[0]

    def put(self, key: str, raw: str, ttl_s: int) -> None:
        with self.lock:
            if len(self.entries) >= MEMORY_ENTRIES:
                self.entries.clear()  # crude, and only for the single-process demo
            self.entries[key] = (raw, time.monotonic() + ttl_s)


_memory = _MemoryCache()
