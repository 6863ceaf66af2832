"""Per-offering health shared by every gateway process: circuit breaker, latency, rotation.

One Redis hash per offering (provider x method) holds its breaker (consecutive faults, when it
opened, the probe lease of a half-open breaker, a 429 cooldown), the EWMA of its latency, its
last error and fault counters per window bucket. One hash per method holds the counters of
smooth weighted round robin. Ops' forcing of a breaker is not here but on the offering row
(it reaches the scripts with the catalog), so that it outlives Redis.

A call costs two Redis round trips here, each one Lua script: `route_begin` before the first
attempt (reads every candidate's state, takes the probe lease of a half-open breaker, steps
the weighted rotation) and `route_end` after the last (records every attempt). When Redis is
unreachable both run against this process's memory with the same rules: the gateway keeps
serving, each process with its own breakers and rotation, and a warning is logged.

Time comes from `clock` (seconds since the epoch, shared by every host); tests replace it.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.exceptions import NoScriptError

from apps.core import state
from apps.routing.routes import BreakerPolicy, OfferingRoute

logger = logging.getLogger(__name__)

clock: Callable[[], float] = time.time

EWMA_ALPHA = 0.3  # weight of the newest latency in the moving average
WINDOW_BUCKETS = 6  # the fault-rate window is counted in this many buckets
PROBE_LEASE_MIN_S = 5  # a probe lease outlives the probe call, however short its timeout

# Candidate statuses; only the first two may be tried.
OK = "ok"
PROBE = "probe"  # half-open: this call holds the one probe
CIRCUIT_OPEN = "circuit_open"
FORCED_OPEN = "forced_open"
COOLING_DOWN = "cooling_down"  # the provider answered 429 with Retry-After
PROBE_IN_FLIGHT = "probe_in_flight"  # half-open, another call is probing
AVAILABLE = frozenset({OK, PROBE})

# What an attempt tells the breaker.
SUCCESS = "success"  # the provider answered (even "your input is invalid")
FAULT = "fault"
COOLDOWN = "cooldown"  # 429 with Retry-After: skip it that long, no breaker count
NEUTRAL = "neutral"  # cut short by our own deadline: says nothing about the provider
RELEASE = "release"  # a probe lease taken but not used

# Ops' override of a breaker (Offering.breaker_forced).
FORCE_OPEN = "open"
FORCE_CLOSED = "closed"
AUTOMATIC = ""


def breaker_key(offering_id: int) -> str:
    return f"{state.KEY_PREFIX}br:{offering_id}"


def rotation_key(method: str) -> str:
    return f"{state.KEY_PREFIX}rr:{method}"


# --- what a call reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateState:
    status: str = OK
    ewma_ms: float | None = None
    retry_at: float | None = None  # when a skipped candidate may be tried again

    @property
    def available(self) -> bool:
        return self.status in AVAILABLE


@dataclass(frozen=True)
class RouteState:
    """Every candidate's state for one call, read in one round trip before it starts."""

    candidates: dict[int, CandidateState] = field(default_factory=dict)
    # Weighted strategies only: available offering ids, the rotation's pick first.
    rotation: tuple[int, ...] = ()

    def of(self, offering: OfferingRoute) -> CandidateState:
        return self.candidates.get(offering.offering_id, CandidateState())


@dataclass(frozen=True)
class AttemptRecord:
    """What one attempt (or an unused probe lease) tells its offering's breaker."""

    offering: OfferingRoute
    kind: str
    outcome: str = ""
    latency_ms: int | None = None  # None: not a latency of the provider (refused, ...)
    error: str = ""
    retry_after_s: float | None = None
    probe: bool = False  # held the probe lease (or is an active health check)


# --- the scripts ----------------------------------------------------------------------------

# KEYS: one breaker hash per candidate, then the method's rotation hash.
# ARGV: now, rotate (0/1), n, then per candidate: offering id, weight, cooldown_s, probe lease s,
# forced ("open", "closed" or "": ops' override, kept in the database).
# Numbers go back as strings: Lua would truncate them to integers.
_BEGIN = """
local now = tonumber(ARGV[1])
local rotate = ARGV[2] == '1'
local n = tonumber(ARGV[3])
local statuses = {}
local available = {}
for i = 1, n do
  local a = 3 + (i - 1) * 5
  local cooldown, forced = tonumber(ARGV[a + 3]), ARGV[a + 5]
  local f = redis.call('HMGET', KEYS[i], 'opened_at', 'cool_until', 'probe_until', 'ewma')
  local opened = tonumber(f[1]) or 0
  local cool = tonumber(f[2]) or 0
  local lease = tonumber(f[3]) or 0
  local status, retry_at = 'ok', ''
  if forced == 'open' then
    status = 'forced_open'
  elseif forced == 'closed' then
    status = 'ok'
  elseif cool > now then
    status, retry_at = 'cooling_down', tostring(cool)
  elseif opened > 0 then
    if now < opened + cooldown then
      status, retry_at = 'circuit_open', tostring(opened + cooldown)
    elseif lease > now then
      status, retry_at = 'probe_in_flight', tostring(lease)
    else
      redis.call('HSET', KEYS[i], 'probe_until', tostring(now + tonumber(ARGV[a + 4])))
      status = 'probe'
    end
  end
  statuses[i] = {status, retry_at, f[4] or ''}
  if status == 'ok' or status == 'probe' then
    available[#available + 1] = i
  end
end
local order = {}
if rotate and #available > 0 then
  local rkey = KEYS[n + 1]
  local ids = {}
  for j, i in ipairs(available) do ids[j] = ARGV[3 + (i - 1) * 5 + 1] end
  local stored = redis.call('HMGET', rkey, unpack(ids))
  local current, total, best = {}, 0, nil
  for j, i in ipairs(available) do
    local w = tonumber(ARGV[3 + (i - 1) * 5 + 2])
    current[i] = (tonumber(stored[j]) or 0) + w
    total = total + w
    if best == nil or current[i] > current[best] then best = i end
  end
  current[best] = current[best] - total
  local updates = {}
  for j, i in ipairs(available) do
    updates[#updates + 1] = ids[j]
    updates[#updates + 1] = tostring(current[i])
  end
  redis.call('HSET', rkey, unpack(updates))
  local rest = {}
  for _, i in ipairs(available) do
    if i ~= best then rest[#rest + 1] = i end
  end
  table.sort(rest, function(x, y)
    if current[x] ~= current[y] then return current[x] > current[y] end
    return x < y
  end)
  order[1] = ARGV[3 + (best - 1) * 5 + 1]
  for _, i in ipairs(rest) do order[#order + 1] = ARGV[3 + (i - 1) * 5 + 1] end
end
return {statuses, order}
"""

# KEYS: one breaker hash per record.
# ARGV: now, alpha, buckets, m, then per record: kind, outcome, latency ('' = none), error,
# retry_after_s, probe (0/1), failures, fault_rate, window_s, min_calls, forced.
_END = """
local now, alpha = tonumber(ARGV[1]), tonumber(ARGV[2])
local buckets, m = tonumber(ARGV[3]), tonumber(ARGV[4])
local function clear_window(key)
  local fields = redis.call('HKEYS', key)
  for _, name in ipairs(fields) do
    if string.sub(name, 1, 2) == 'n:' or string.sub(name, 1, 2) == 'f:' then
      redis.call('HDEL', key, name)
    end
  end
end
for i = 1, m do
  local a = 4 + (i - 1) * 11
  local key, kind, outcome = KEYS[i], ARGV[a + 1], ARGV[a + 2]
  local latency = tonumber(ARGV[a + 3])
  local probe = ARGV[a + 6] == '1'
  if probe then redis.call('HDEL', key, 'probe_until') end
  if kind ~= 'release' then
    redis.call('HSET', key, 'last_at', tostring(now), 'last_outcome', outcome)
    if latency then
      local e = tonumber(redis.call('HGET', key, 'ewma'))
      if e then e = e + alpha * (latency - e) else e = latency end
      redis.call('HSET', key, 'ewma', tostring(e), 'last_latency_ms', tostring(latency))
    end
  end
  if kind == 'cooldown' then
    redis.call('HSET', key, 'cool_until', tostring(now + tonumber(ARGV[a + 5])))
  elseif kind == 'success' or kind == 'fault' then
    local window = tonumber(ARGV[a + 9])
    local width = math.max(1, math.floor(window / buckets))
    local bucket = math.floor(now / width)
    redis.call('HINCRBY', key, 'n:' .. bucket, 1)
    local stale = {}
    for old = bucket - 2 * buckets, bucket - buckets do
      stale[#stale + 1] = 'n:' .. old
      stale[#stale + 1] = 'f:' .. old
    end
    redis.call('HDEL', key, unpack(stale))
    local forced = ARGV[a + 11]
    local opened = tonumber(redis.call('HGET', key, 'opened_at')) or 0
    if kind == 'success' then
      redis.call('HSET', key, 'fails', '0')
      if opened > 0 and probe then
        redis.call('HDEL', key, 'opened_at')
        clear_window(key)
      end
    else
      redis.call('HINCRBY', key, 'f:' .. bucket, 1)
      redis.call('HSET', key, 'last_error', ARGV[a + 4], 'last_fault_at', tostring(now))
      local fails = redis.call('HINCRBY', key, 'fails', 1)
      if forced ~= 'open' and forced ~= 'closed' then
        if opened > 0 then
          if probe then redis.call('HSET', key, 'opened_at', tostring(now)) end
        else
          local names = {}
          for b = bucket - buckets + 1, bucket do
            names[#names + 1] = 'n:' .. b
            names[#names + 1] = 'f:' .. b
          end
          local counts = redis.call('HMGET', key, unpack(names))
          local calls, faults = 0, 0
          for j = 1, #counts, 2 do
            calls = calls + (tonumber(counts[j]) or 0)
            faults = faults + (tonumber(counts[j + 1]) or 0)
          end
          local rate_over = faults * 100 >= tonumber(ARGV[a + 8]) * calls
          if fails >= tonumber(ARGV[a + 7]) or (calls >= tonumber(ARGV[a + 10]) and rate_over) then
            redis.call('HSET', key, 'opened_at', tostring(now))
          end
        end
      end
    end
  end
end
return m
"""


def _begin_args(
    candidates: Sequence[OfferingRoute], method: str, rotate: bool, now: float
) -> tuple[list[str], list[Any]]:
    keys = [breaker_key(o.offering_id) for o in candidates] + [rotation_key(method)]
    args: list[Any] = [repr(now), "1" if rotate else "0", len(candidates)]
    for o in candidates:
        lease = max(PROBE_LEASE_MIN_S, math.ceil(o.provider.timeout_ms / 1000) + 1)
        args += [o.offering_id, o.weight, o.breaker.cooldown_s, lease, o.breaker.forced]
    return keys, args


def _end_args(records: Sequence[AttemptRecord], now: float) -> tuple[list[str], list[Any]]:
    keys = [breaker_key(r.offering.offering_id) for r in records]
    args: list[Any] = [repr(now), EWMA_ALPHA, WINDOW_BUCKETS, len(records)]
    for r in records:
        policy: BreakerPolicy = r.offering.breaker
        args += [
            r.kind,
            r.outcome,
            "" if r.latency_ms is None else r.latency_ms,
            r.error[:500],
            repr(r.retry_after_s or 0.0),
            "1" if r.probe else "0",
            policy.failures,
            policy.fault_rate,
            policy.window_s,
            policy.min_calls,
            policy.forced,
        ]
    return keys, args


def _route_state(raw: Any, candidates: Sequence[OfferingRoute]) -> RouteState:
    statuses, order = raw
    result: dict[int, CandidateState] = {}
    for offering, (status, retry_at, ewma) in zip(candidates, statuses, strict=True):
        result[offering.offering_id] = CandidateState(
            status=_text(status),
            ewma_ms=float(ewma) if _text(ewma) else None,
            retry_at=float(retry_at) if _text(retry_at) else None,
        )
    return RouteState(candidates=result, rotation=tuple(int(i) for i in order))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- the same rules in this process's memory (no Redis, or Redis unreachable) -------------


class _Memory:
    """The scripts' rules over dicts; used when Redis is not configured or unreachable."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def clear(self) -> None:
        with self.lock:
            self.hashes.clear()

    def begin(self, keys: list[str], args: list[Any]) -> Any:
        now, rotate, n = float(args[0]), args[1] == "1", int(args[2])
        statuses: list[list[str]] = []
        available: list[int] = []
        with self.lock:
            for i in range(n):
                offering_id, _, cooldown, lease, forced = args[3 + i * 5 : 8 + i * 5]
                h = self.hashes.setdefault(keys[i], {})
                opened = float(h.get("opened_at", 0))
                cool = float(h.get("cool_until", 0))
                probe_until = float(h.get("probe_until", 0))
                status, retry_at = OK, ""
                if forced == FORCE_OPEN:
                    status = FORCED_OPEN
                elif forced == FORCE_CLOSED:
                    status = OK
                elif cool > now:
                    status, retry_at = COOLING_DOWN, repr(cool)
                elif opened > 0:
                    if now < opened + float(cooldown):
                        status, retry_at = CIRCUIT_OPEN, repr(opened + float(cooldown))
                    elif probe_until > now:
                        status, retry_at = PROBE_IN_FLIGHT, repr(probe_until)
                    else:
                        h["probe_until"] = repr(now + float(lease))
                        status = PROBE
                statuses.append([status, retry_at, h.get("ewma", "")])
                if status in AVAILABLE:
                    available.append(i)
            order: list[str] = []
            if rotate and available:
                rotation = self.hashes.setdefault(keys[n], {})
                current: dict[int, float] = {}
                total = 0.0
                best: int | None = None
                for i in available:
                    offering_id, weight = args[3 + i * 5], float(args[4 + i * 5])
                    current[i] = float(rotation.get(str(offering_id), 0)) + weight
                    total += weight
                    if best is None or current[i] > current[best]:
                        best = i
                assert best is not None
                current[best] -= total
                for i in available:
                    rotation[str(args[3 + i * 5])] = repr(current[i])
                rest = sorted((i for i in available if i != best), key=lambda i: (-current[i], i))
                order = [str(args[3 + i * 5]) for i in (best, *rest)]
        return [statuses, order]

    def end(self, keys: list[str], args: list[Any]) -> None:
        now, alpha, buckets, m = float(args[0]), float(args[1]), int(args[2]), int(args[3])
        with self.lock:
            for i in range(m):
                record = args[4 + i * 11 : 15 + i * 11]
                kind, outcome, latency, error, retry_after, probe = record[:6]
                failures, rate, window, least, forced = record[6:]
                h = self.hashes.setdefault(keys[i], {})
                if probe == "1":
                    h.pop("probe_until", None)
                if kind != RELEASE:
                    h["last_at"], h["last_outcome"] = repr(now), outcome
                    if latency != "":
                        previous = h.get("ewma")
                        ewma = (
                            float(latency)
                            if previous is None
                            else float(previous) + alpha * (float(latency) - float(previous))
                        )
                        h["ewma"], h["last_latency_ms"] = repr(ewma), str(latency)
                if kind == COOLDOWN:
                    h["cool_until"] = repr(now + float(retry_after))
                    continue
                if kind not in (SUCCESS, FAULT):
                    continue
                width = max(1, int(window) // buckets)
                bucket = math.floor(now / width)
                _incr(h, f"n:{bucket}")
                for old in range(bucket - 2 * buckets, bucket - buckets + 1):
                    h.pop(f"n:{old}", None)
                    h.pop(f"f:{old}", None)
                opened = float(h.get("opened_at", 0))
                if kind == SUCCESS:
                    h["fails"] = "0"
                    if opened > 0 and probe == "1":
                        h.pop("opened_at", None)
                        for name in [k for k in h if k[:2] in ("n:", "f:")]:
                            del h[name]
                    continue
                _incr(h, f"f:{bucket}")
                h["last_error"], h["last_fault_at"] = error, repr(now)
                fails = _incr(h, "fails")
                if forced in (FORCE_OPEN, FORCE_CLOSED):
                    continue
                if opened > 0:
                    if probe == "1":
                        h["opened_at"] = repr(now)
                    continue
                span = range(bucket - buckets + 1, bucket + 1)
                calls = sum(int(h.get(f"n:{b}", 0)) for b in span)
                faults = sum(int(h.get(f"f:{b}", 0)) for b in span)
                if fails >= int(failures) or (
                    calls >= int(least) and faults * 100 >= int(rate) * calls
                ):
                    h["opened_at"] = repr(now)


def _incr(h: dict[str, str], name: str) -> int:
    value = int(h.get(name, 0)) + 1
    h[name] = str(value)
    return value


memory = _Memory()

_BEGIN_SHA = hashlib.sha1(_BEGIN.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)
_END_SHA = hashlib.sha1(_END.encode()).hexdigest()  # noqa: S324


async def _run(source: str, sha: str, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA: one round trip; the first call on a server that lacks the script loads it."""
    client = state.async_client()
    try:
        return await client.evalsha(sha, len(keys), *keys, *args)  # type: ignore[misc]
    except NoScriptError:
        return await client.eval(source, len(keys), *keys, *args)  # type: ignore[misc]


# --- the hot path ---------------------------------------------------------------------------


async def route_begin(
    candidates: Sequence[OfferingRoute], *, method: str, rotate: bool = False
) -> RouteState:
    """Every candidate's state, probe leases taken, the rotation stepped: one round trip."""
    if not candidates:
        return RouteState()
    keys, args = _begin_args(candidates, method, rotate, clock())
    if state.redis_usable():
        try:
            raw = await _run(_BEGIN, _BEGIN_SHA, keys, args)
            return _route_state(raw, candidates)
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    return _route_state(memory.begin(keys, args), candidates)


async def route_end(records: Sequence[AttemptRecord]) -> None:
    """Record what the call's attempts said about each provider: one round trip."""
    if not records:
        return
    keys, args = _end_args(records, clock())
    if state.redis_usable():
        try:
            await _run(_END, _END_SHA, keys, args)
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    memory.end(keys, args)


async def record_health_check(
    offerings: Sequence[OfferingRoute], *, outcome: str, latency_ms: int, error: str = ""
) -> None:
    """Feed an active health check of a provider to the breakers of its offerings.

    A passing check closes an open breaker (it is the probe), a failing one counts as a
    fault. Its latency is kept apart: a status endpoint says little about a method's speed.
    """
    if not offerings:
        return
    kind = SUCCESS if outcome == "ok" else FAULT
    await route_end([AttemptRecord(o, kind, outcome, error=error, probe=True) for o in offerings])
    fields: dict[Any, Any] = {
        "probe_at": repr(clock()),
        "probe_outcome": outcome,
        "probe_latency_ms": str(latency_ms),
        "probe_error": error[:500],
    }
    keys = [breaker_key(o.offering_id) for o in offerings]
    if state.redis_usable():
        try:
            pipe = state.async_client().pipeline(transaction=False)
            for key in keys:
                pipe.hset(key, mapping=fields)
            await pipe.execute()
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    with memory.lock:
        for key in keys:
            memory.hashes.setdefault(key, {}).update(fields)


# --- what ops see and do (admin, health checks) ---------------------------------------------


@dataclass(frozen=True)
class BreakerView:
    """One offering's breaker as the admin shows it."""

    state: str  # closed, open, half_open, forced_open, forced_closed, cooling_down
    consecutive_faults: int = 0
    calls_in_window: int = 0
    faults_in_window: int = 0
    last_error: str = ""
    last_outcome: str = ""
    last_latency_ms: int | None = None
    ewma_ms: float | None = None
    last_at: float | None = None
    open_until: float | None = None  # open, or cooling down: skipped until then
    # The last active health check of its provider.
    probe_at: float | None = None
    probe_outcome: str = ""
    probe_latency_ms: int | None = None
    probe_error: str = ""

    @property
    def fault_rate(self) -> float | None:
        if not self.calls_in_window:
            return None
        return self.faults_in_window / self.calls_in_window


def breaker_view(fields: dict[str, str], policy: BreakerPolicy, now: float) -> BreakerView:
    width = max(1, policy.window_s // WINDOW_BUCKETS)
    bucket = math.floor(now / width)
    span = range(bucket - WINDOW_BUCKETS + 1, bucket + 1)
    opened = float(fields.get("opened_at", 0))
    cool = float(fields.get("cool_until", 0))
    forced = policy.forced
    open_until = None
    if forced == FORCE_OPEN:
        current = FORCED_OPEN
    elif forced == FORCE_CLOSED:
        current = "forced_closed"
    elif cool > now:
        current, open_until = COOLING_DOWN, cool
    elif opened > 0 and now < opened + policy.cooldown_s:
        current, open_until = "open", opened + policy.cooldown_s
    elif opened > 0:
        current = "half_open"
    else:
        current = "closed"
    return BreakerView(
        state=current,
        consecutive_faults=int(fields.get("fails", 0)),
        calls_in_window=sum(int(fields.get(f"n:{b}", 0)) for b in span),
        faults_in_window=sum(int(fields.get(f"f:{b}", 0)) for b in span),
        last_error=fields.get("last_error", ""),
        last_outcome=fields.get("last_outcome", ""),
        last_latency_ms=_int_or_none(fields.get("last_latency_ms")),
        ewma_ms=float(fields["ewma"]) if fields.get("ewma") else None,
        last_at=float(fields["last_at"]) if fields.get("last_at") else None,
        open_until=open_until,
        probe_at=float(fields["probe_at"]) if fields.get("probe_at") else None,
        probe_outcome=fields.get("probe_outcome", ""),
        probe_latency_ms=_int_or_none(fields.get("probe_latency_ms")),
        probe_error=fields.get("probe_error", ""),
    )


def _int_or_none(value: str | None) -> int | None:
    return int(float(value)) if value else None


def _read_hashes(keys: list[str]) -> list[dict[str, str]]:
    if state.redis_usable():
        try:
            pipe = state.sync_client().pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(key)
            return [{_text(k): _text(v) for k, v in raw.items()} for raw in pipe.execute()]
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    with memory.lock:
        return [dict(memory.hashes.get(key, {})) for key in keys]


def breaker_views(offerings: Iterable[tuple[int, BreakerPolicy]]) -> dict[int, BreakerView]:
    """The breakers of (offering id, its provider's thresholds), in one round trip."""
    pairs = list(offerings)
    now = clock()
    hashes = _read_hashes([breaker_key(offering_id) for offering_id, _ in pairs])
    return {
        offering_id: breaker_view(fields, policy, now)
        for (offering_id, policy), fields in zip(pairs, hashes, strict=True)
    }


# A clean slate: what the breaker counted and decided, not what it measured (latency, the
# last error and the last health check stay for ops to read).
_RESET = ("opened_at", "fails", "probe_until", "cool_until")
_RESET_SCRIPT = """
for _, key in ipairs(KEYS) do
  local names = {'opened_at', 'fails', 'probe_until', 'cool_until'}
  for _, name in ipairs(redis.call('HKEYS', key)) do
    local prefix = string.sub(name, 1, 2)
    if prefix == 'n:' or prefix == 'f:' then names[#names + 1] = name end
  end
  redis.call('HDEL', key, unpack(names))
end
return #KEYS
"""


def breaker_reset(offering_ids: Iterable[int]) -> None:
    """Close these breakers and forget their faults, 429 cooldowns and probe leases.

    Whether ops force a breaker is kept on the offering row (apps.routing.services), not here.
    """
    keys = [breaker_key(i) for i in offering_ids]
    if not keys:
        return
    if state.redis_usable():
        try:
            state.sync_client().eval(_RESET_SCRIPT, len(keys), *keys)
            return
        except state.REDIS_ERRORS:
            state.note_redis_unreachable("breakers and weights")
    with memory.lock:
        for key in keys:
            h = memory.hashes.setdefault(key, {})
            for name in [*_RESET, *(k for k in h if k[:2] in ("n:", "f:"))]:
                h.pop(name, None)


def forget_process_state() -> None:
    """Drop this process's fallback breakers and rotation (tests)."""
    memory.clear()
