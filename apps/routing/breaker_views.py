"""One offering's breaker as ops see it (admin, control room, metrics), read from its hash.

A pure reading of the fields the scripts keep (apps.routing.breaker_scripts) against the
provider's thresholds: apps.routing.breakers fetches the hashes and calls it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apps.routing.breaker_rules import (
    COOLING_DOWN,
    FORCE_CLOSED,
    FORCE_OPEN,
    FORCED_OPEN,
    WINDOW_BUCKETS,
)
from apps.routing.routes import BreakerPolicy


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
    current, open_until = _state(fields, policy, now)
    return BreakerView(
        state=current,
        consecutive_faults=int(fields.get("fails", 0)),
        calls_in_window=sum(int(fields.get(f"n:{b}", 0)) for b in span),
        faults_in_window=sum(int(fields.get(f"f:{b}", 0)) for b in span),
        last_error=fields.get("last_error", ""),
        last_outcome=fields.get("last_outcome", ""),
        last_latency_ms=_int_or_none(fields.get("last_latency_ms")),
        ewma_ms=_float_or_none(fields.get("ewma")),
        last_at=_float_or_none(fields.get("last_at")),
        open_until=open_until,
        probe_at=_float_or_none(fields.get("probe_at")),
        probe_outcome=fields.get("probe_outcome", ""),
        probe_latency_ms=_int_or_none(fields.get("probe_latency_ms")),
        probe_error=fields.get("probe_error", ""),
    )


def _state(fields: dict[str, str], policy: BreakerPolicy, now: float) -> tuple[str, float | None]:
    """The breaker's state, and until when it skips its offering (open or cooling down)."""
    opened = float(fields.get("opened_at", 0))
    cool = float(fields.get("cool_until", 0))
    if policy.forced == FORCE_OPEN:
        return FORCED_OPEN, None
    if policy.forced == FORCE_CLOSED:
        return "forced_closed", None
    if cool > now:
        return COOLING_DOWN, cool
    if opened > 0 and now < opened + policy.cooldown_s:
        return "open", opened + policy.cooldown_s
    if opened > 0:
        return "half_open", None
    return "closed", None


def _int_or_none(value: str | None) -> int | None:
    return int(float(value)) if value else None


def _float_or_none(value: str | None) -> float | None:
    return float(value) if value else None
