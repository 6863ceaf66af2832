"""The breakers' shared state in Redis: the Lua scripts that apply its rules, with the
packing of their arguments and how they are sent.

Kept apart from apps.routing.breakers (the API every caller uses) because this is the one place
the rules are written for Redis: a change to a rule starts here, is mirrored in
apps.routing.breaker_memory (the same rules in this process's memory), and is proved equal by
tests/routing/test_fallback_parity.py. The statuses, kinds and force modes the Lua spells
literally are named in apps.routing.breaker_rules.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from apps.core import state
from apps.routing.breaker_rules import (
    EWMA_ALPHA,
    PROBE_LEASE_MIN_S,
    WINDOW_BUCKETS,
    AttemptRecord,
    breaker_key,
    rotation_key,
)
from apps.routing.routes import BreakerPolicy, OfferingRoute

# --- the scripts ----------------------------------------------------------------------------

# KEYS: one breaker hash per candidate, then the method's rotation hash.
# ARGV: now, rotate (0/1), n, then per candidate: offering id, weight, cooldown_s, probe lease s,
# forced ("open", "closed" or "": ops' override, kept in the database).
# Numbers go back as strings: Lua would truncate them to integers.
BEGIN = """
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
END = """
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

# A clean slate: apps.routing.breaker_rules.RESET_FIELDS, and the window's counters.
RESET_SCRIPT = """
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


# --- their arguments and how they are sent -------------------------------------------------


def begin_args(
    candidates: Sequence[OfferingRoute], method: str, rotate: bool, now: float
) -> tuple[list[str], list[Any]]:
    keys = [breaker_key(o.offering_id) for o in candidates] + [rotation_key(method)]
    args: list[Any] = [repr(now), "1" if rotate else "0", len(candidates)]
    for o in candidates:
        lease = max(PROBE_LEASE_MIN_S, math.ceil(o.provider.timeout_ms / 1000) + 1)
        args += [o.offering_id, o.weight, o.breaker.cooldown_s, lease, o.breaker.forced]
    return keys, args


def end_args(records: Sequence[AttemptRecord], now: float) -> tuple[list[str], list[Any]]:
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


BEGIN_SHA = hashlib.sha1(BEGIN.encode()).hexdigest()  # noqa: S324 (Redis names scripts so)
END_SHA = hashlib.sha1(END.encode()).hexdigest()  # noqa: S324


async def run(source: str, sha: str, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA: one round trip; the first call on a server that lacks the script loads it."""
    client = state.async_client()
    try:
        return await client.evalsha(sha, len(keys), *keys, *args)  # type: ignore[misc]
    except NoScriptError:
        return await client.eval(source, len(keys), *keys, *args)  # type: ignore[misc]
