"""A call's breakers read ahead, in the round trip admission makes anyway.

Admission reads the catalog's and principals' versions from Redis on every call. The breakers
of the method's offerings (as this process's snapshot names them) come back in the same
pipeline, kept for the call (a context variable). The executor's route_begin then answers from
them with no round trip of its own whenever its script would only have read: no candidate is
due a half-open probe (its lease is a write, taken atomically by the script, so that one call
across all processes probes) and the strategy does not step the shared weighted rotation.
Otherwise, or when the peek is missing, older than PEEK_MAX_AGE_S, of another method, or lacks
a candidate (the snapshot changed meanwhile), route_begin runs its script as before.

The peek only reads: a call refused after it (a rate limit, an invalid payload) or answered
from the response cache takes no probe lease and steps no rotation. It is a few milliseconds
older than the script's read would be: the same race a call already in flight has with a
breaker that opens meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from apps.core import state
from apps.routing.breaker_rules import PROBE, breaker_key, candidate_status
from apps.routing.routes import MethodRoute

# What BEGIN reads of each breaker (apps.routing.breaker_scripts).
PEEK_FIELDS = ("opened_at", "cool_until", "probe_until", "ewma")
# Older than this (a slow admission), the peek is not used: the script reads afresh.
PEEK_MAX_AGE_S = 1.0


@dataclass(frozen=True)
class Peek:
    method: str
    hashes: dict[str, dict[str, str]]  # breaker key -> the PEEK_FIELDS it holds
    read_at: float  # time.monotonic()


_peeked: ContextVar[Peek | None] = ContextVar("breaker_peek", default=None)


async def versions_and_breakers(names: Sequence[str], route: MethodRoute | None) -> tuple[int, ...]:
    """state.read_versions(*names) and, in the same round trip, the breakers of `route`'s
    offerings, kept for this call's route_begin (nothing is kept without a route)."""
    keys = [breaker_key(o.offering_id) for o in route.offerings] if route else []
    versions, values = await state.read_versions_and_fields(names, keys, PEEK_FIELDS)
    peek = None
    if route is not None and values is not None:
        hashes = {key: _fields(raw) for key, raw in zip(keys, values, strict=True)}
        peek = Peek(method=route.key, hashes=hashes, read_at=time.monotonic())
    _peeked.set(peek)
    return versions


def peeked_begin(method: str, keys: list[str], args: list[Any]) -> Any | None:
    """BEGIN's answer for these keys and arguments (apps.routing.breaker_scripts.begin_args)
    from this call's peek, which is used once; None when the script must run."""
    peek = _peeked.get()
    if peek is None:
        return None
    _peeked.set(None)
    now, rotate, n = float(args[0]), args[1] == "1", int(args[2])
    if rotate or peek.method != method or time.monotonic() - peek.read_at > PEEK_MAX_AGE_S:
        return None
    statuses: list[list[str]] = []
    for i in range(n):
        fields = peek.hashes.get(keys[i])
        if fields is None:
            return None
        _, _, cooldown, _, forced = args[3 + i * 5 : 8 + i * 5]
        status, retry_at = candidate_status(fields, now, float(cooldown), forced)
        if status == PROBE:
            return None
        statuses.append([status, retry_at, fields.get("ewma", "")])
    return [statuses, []]


def forget_peek() -> None:
    """Drop this context's peek (tests)."""
    _peeked.set(None)


def _fields(raw: list[bytes | None]) -> dict[str, str]:
    return {name: value.decode() for name, value in zip(PEEK_FIELDS, raw, strict=True) if value}
