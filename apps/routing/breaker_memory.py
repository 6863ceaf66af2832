"""The breakers' rules in this process's memory: what runs when Redis is not configured or
unreachable, so the gateway keeps serving with each process's own breakers and rotation.

A Python copy of the Lua scripts in apps.routing.breaker_scripts, over dicts shaped like their
Redis hashes and fed the very same keys and arguments. Kept apart from apps.routing.breakers so
that it reads side by side with the scripts it mirrors; tests/routing/test_fallback_parity.py
runs both on the same calls and requires the same answers.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from apps.routing.breaker_rules import (
    AVAILABLE,
    COOLDOWN,
    FAULT,
    FORCE_CLOSED,
    FORCE_OPEN,
    PROBE,
    RELEASE,
    RESET_FIELDS,
    SUCCESS,
    candidate_status,
)


class BreakerMemory:
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
                status, retry_at = candidate_status(h, now, float(cooldown), forced)
                if status == PROBE:
                    h["probe_until"] = repr(now + float(lease))
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

    def reset(self, keys: list[str]) -> None:
        """RESET_SCRIPT: forget what these breakers counted and decided."""
        with self.lock:
            for key in keys:
                h = self.hashes.setdefault(key, {})
                for name in [*RESET_FIELDS, *(k for k in h if k[:2] in ("n:", "f:"))]:
                    h.pop(name, None)

    def update(self, keys: list[str], fields: dict[Any, Any]) -> None:
        """HSET these fields on each of these hashes."""
        with self.lock:
            for key in keys:
                self.hashes.setdefault(key, {}).update(fields)

    def read(self, keys: list[str]) -> list[dict[str, str]]:
        """HGETALL of each of these hashes, copied."""
        with self.lock:
            return [dict(self.hashes.get(key, {})) for key in keys]


def _incr(h: dict[str, str], name: str) -> int:
    value = int(h.get(name, 0)) + 1
    h[name] = str(value)
    return value
