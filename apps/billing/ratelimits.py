"""Rate limits and free-call allowances: one Redis round trip per call.

A limit "N per window" counts a client's calls in a window that starts with the first call
counted and lasts `window` (a counter with an expiry). One Lua script checks every window a
call counts against (total, its service, its method) and, only if none is full, counts the
call in all of them, so concurrent calls from any number of processes never get past a
limit. The same script takes one of the month's free calls when the plan grants some.

Free-call counters are per client x method x calendar month (in TIME_ZONE). A counter that
Redis does not have (a new month, or Redis lost its data) is seeded from the ledger, which
marks every free call, before it is used.

Without Redis (the embedded run is one process) the same logic runs in process memory. When
Redis is configured but unreachable, calls are let through unlimited and no free call is
given (the call is charged at its price), with a warning in the log.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.utils import timezone
from redis.asyncio.client import Redis as AsyncRedis

from apps.billing.pricebook import Limit
from apps.core import state

logger = logging.getLogger(__name__)

REDIS_FAILURES = (redis.RedisError, OSError, TimeoutError)

ADMIT_LUA = """
-- KEYS: n rate-limit counters, then (optionally) this month's free-call counter
-- ARGV: n, then the limit and the window (ms) of each counter, then the free allowance
local n = tonumber(ARGV[1])
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[2 * i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[2 * i + 1])
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    return {0, i, ttl}
  end
end
local result = {1}
for i = 1, n do
  local used = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    ttl = tonumber(ARGV[2 * i + 1])
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  result[2 * i] = used
  result[2 * i + 1] = ttl
end
if #KEYS > n then
  local used = redis.call('GET', KEYS[n + 1])
  if not used then
    result[2 * n + 2] = -1
  elseif tonumber(used) < tonumber(ARGV[2 * n + 2]) then
    redis.call('INCR', KEYS[n + 1])
    result[2 * n + 2] = 1
  else
    result[2 * n + 2] = 0
  end
end
return result
"""

RELEASE_LUA = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
"""

FREE_NOT_SEEDED, FREE_TAKEN = -1, 1


@dataclass(frozen=True)
class WindowState:
    limit: Limit
    remaining: int
    reset_s: int  # seconds until the window starts over


@dataclass(frozen=True)
class FreeAllowance:
    """A plan's monthly free calls of one method, for one client."""

    client_id: int
    method: str
    allowance: int
    month_start: datetime

    @property
    def key(self) -> str:
        return f"{state.KEY_PREFIX}free:{{{self.client_id}}}:{self.method}:{self.month_start:%Y%m}"

    @property
    def ttl_ms(self) -> int:
        # Kept a few days past the month's end, for whoever looks into a dispute.
        next_month = (self.month_start + timedelta(days=32)).replace(day=1)
        return int((next_month - timezone.now()).total_seconds() * 1000) + 3 * 86_400_000


@dataclass(frozen=True)
class Admission:
    allowed: bool
    windows: tuple[WindowState, ...]  # every window counted (the refusing one, if refused)
    free_call: bool = False

    @property
    def describing(self) -> WindowState | None:
        """The window the X-RateLimit headers describe: the closest to running out."""
        if not self.windows:
            return None
        return min(self.windows, key=lambda w: (w.remaining, -w.reset_s))

    def headers(self) -> dict[str, str]:
        window = self.describing
        if window is None:
            return {}
        return {
            "X-RateLimit-Limit": str(window.limit.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": str(window.reset_s),
        }


UNLIMITED = Admission(allowed=True, windows=())


def month_start(now: datetime | None = None) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _key(client_id: int, limit: Limit) -> str:
    # The client id in braces keeps one call's keys in one Redis Cluster slot.
    return f"{state.KEY_PREFIX}rl:{{{client_id}}}:{limit.scope}:{limit.window}"


def _seconds(ttl_ms: int) -> int:
    return max(1, math.ceil(ttl_ms / 1000))


async def rate_admit(
    *,
    client_id: int,
    limits: Sequence[Limit],
    free: FreeAllowance | None,
    seed_free: Callable[[FreeAllowance], Awaitable[int]],
) -> Admission:
    """Count one call against `limits` and take a free call, or refuse it (nothing counted).

    `seed_free` returns how many free calls the ledger shows for the month; it is awaited
    only when the counter is missing.
    """
    if not limits and free is None:
        return UNLIMITED
    keys = [_key(client_id, limit) for limit in limits]
    args: list[int] = [len(limits)]
    for limit in limits:
        args += [limit.limit, limit.window_s * 1000]
    if free is not None:
        keys.append(free.key)
        args.append(free.allowance)
    try:
        result = await _run(keys, args)
        if free is not None and result[-1] == FREE_NOT_SEEDED:
            await _seed(free, await seed_free(free))
            result[-1] = (await _run([free.key], [0, free.allowance]))[-1]
    except REDIS_FAILURES as exc:
        logger.warning("Redis unreachable (%r): rate limits not enforced, no free call given", exc)
        return UNLIMITED
    if result[0] == 0:
        refused = limits[result[1] - 1]
        return Admission(False, (WindowState(refused, 0, _seconds(result[2])),))
    windows = tuple(
        WindowState(limit, max(0, limit.limit - result[2 * i + 1]), _seconds(result[2 * i + 2]))
        for i, limit in enumerate(limits)
    )
    return Admission(True, windows, free_call=free is not None and result[-1] == FREE_TAKEN)


async def free_call_release(free: FreeAllowance) -> None:
    """Give back a free call the client was not served (its call failed or was refused)."""
    try:
        if state.uses_redis():
            client = state.async_client()
            await client.eval(RELEASE_LUA, 1, free.key)  # type: ignore[misc]
        else:
            _memory.release(free.key)
    except REDIS_FAILURES:
        logger.warning("Redis unreachable: a free call of %s was not given back", free.method)


# --- the script, in Redis or in process memory ------------------------------------------


ADMIT_SHA = hashlib.sha1(ADMIT_LUA.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)


async def _run(keys: list[str], args: list[int]) -> list[int]:
    if not state.uses_redis():
        return _memory.admit(keys, args)
    client: AsyncRedis = state.async_client()
    try:
        return list(await client.evalsha(ADMIT_SHA, len(keys), *keys, *args))  # type: ignore[misc]
    except redis.exceptions.NoScriptError:
        await client.script_load(ADMIT_LUA)
        return list(await client.evalsha(ADMIT_SHA, len(keys), *keys, *args))  # type: ignore[misc]


async def _seed(free: FreeAllowance, used: int) -> None:
    if state.uses_redis():
        await state.async_client().set(free.key, used, nx=True, px=free.ttl_ms)
    else:
        _memory.seed(free.key, used, free.ttl_ms)


class _MemoryCounters:
    """ADMIT_LUA for one process, for the embedded run without Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[str, tuple[int, float]] = {}  # key -> (count, expires at)

    def _get(self, key: str, now: float) -> tuple[int, float] | None:
        found = self.counters.get(key)
        if found is not None and found[1] <= now:
            del self.counters[key]
            return None
        return found

    def admit(self, keys: list[str], args: list[int]) -> list[int]:
        n, now = args[0], time.monotonic()
        with self.lock:
            for i in range(n):
                found = self._get(keys[i], now)
                if found is not None and found[0] >= args[1 + 2 * i]:
                    return [0, i + 1, int((found[1] - now) * 1000)]
            result = [1]
            for i in range(n):
                found = self._get(keys[i], now) or (0, now + args[2 + 2 * i] / 1000)
                self.counters[keys[i]] = (found[0] + 1, found[1])
                result += [found[0] + 1, int((found[1] - now) * 1000)]
            if len(keys) > n:
                free = self._get(keys[n], now)
                if free is None:
                    result.append(FREE_NOT_SEEDED)
                elif free[0] < args[1 + 2 * n]:
                    self.counters[keys[n]] = (free[0] + 1, free[1])
                    result.append(FREE_TAKEN)
                else:
                    result.append(0)
            return result

    def seed(self, key: str, used: int, ttl_ms: int) -> None:
        with self.lock:
            if self._get(key, time.monotonic()) is None:
                self.counters[key] = (used, time.monotonic() + ttl_ms / 1000)

    def release(self, key: str) -> None:
        with self.lock:
            found = self._get(key, time.monotonic())
            if found is not None and found[0] > 0:
                self.counters[key] = (found[0] - 1, found[1])


_memory = _MemoryCounters()
