"""The control room's lines for one staff user: what is wrong, and where ops fix it.

Who sees it: staff who may view the offerings (ops) or the ledger (finance), and superusers.
It shows no money: holds are counted, not summed, so ops need no finance permission. A link
is shown only to a user whose permissions open its page; the others get the line without it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.urls import reverse
from django.utils import timezone

from apps.monitoring import control_room as room
from apps.monitoring.control_room_values import OfferingHealth, Readings

logger = logging.getLogger(__name__)

ERROR_RATE_ALERT = 0.01  # a 5xx rate at or above this share of the window's calls is shown

OPS = "catalog.view_offering"
FINANCE = "ledger.view_ledgerentry"
RELEASE_RUNS = "ledger.view_holdreleaserun"


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class Line:
    text: str
    unknown: bool = False
    links: tuple[Link, ...] = ()
    hint: str = ""


@dataclass(frozen=True)
class Panel:
    read_at: str
    lines: list[Line]


def panel_visible(user: AbstractUser | AnonymousUser) -> bool:
    if not (user.is_active and user.is_staff):
        return False
    return user.has_perm(OPS) or user.has_perm(FINANCE)


def panel_for(user: AbstractUser | AnonymousUser) -> Panel | None:
    """The panel this user sees, or None. Never raises: the admin index must render."""
    if not panel_visible(user):
        return None
    try:
        readings = room.readings_cached()
    except Exception:
        logger.exception("control room: readings failed")
        return Panel(
            _clock(timezone.now()), [Line("The control room could not be read (logged).", True)]
        )
    return Panel(_clock(readings.at), lines_for(readings, user))


def lines_for(readings: Readings, user: AbstractUser | AnonymousUser) -> list[Line]:
    may = user.has_perm
    lines = _offering_lines(readings, may)
    lines += _hold_lines(readings, may)
    lines += _dead_letter_lines(readings)
    lines += _error_lines(readings, may)
    return lines


def _offering_lines(readings: Readings, may: Callable[[str], bool]) -> list[Line]:
    reading = readings.offerings
    if reading.value is None:
        return [Line(f"Breakers and providers: unknown, {reading.why_unknown}.", True)]
    lines = []
    for health in reading.value:
        if health.state in room.PROBLEM_STATES:
            lines.append(Line(_breaker_text(health), links=_offering_links(health, may)))
        elif health.failing or health.slow:
            lines.append(Line(_provider_text(health), links=_offering_links(health, may)))
    return lines


def _breaker_text(h: OfferingHealth) -> str:
    name = f"{h.provider} · {h.method}"
    if h.state == "open":
        since = f" since {_clock(h.open_since)}" if h.open_since else ""
        until = f"; calls skip it until {_clock(h.open_until)}" if h.open_until else ""
        return f"Breaker open: {name}{since} ({h.consecutive_faults} faults in a row){until}."
    if h.state == "half_open":
        return f"Breaker half-open: {name}, waiting for one probe call to succeed."
    if h.state == "cooling_down":
        until = f" until {_clock(h.open_until)}" if h.open_until else ""
        return f"Cooling down: {name} was rate-limited by the provider (429); skipped{until}."
    return f"Breaker forced open by ops (drained): {name} takes no calls."


def _provider_text(h: OfferingHealth) -> str:
    parts = []
    if h.failing and h.fault_rate is not None:
        parts.append(f"{h.fault_rate:.0%} of its last {h.calls} calls faulted")
    if h.slow and h.ewma_ms is not None:
        parts.append(f"answers in {h.ewma_ms:.0f} ms on average (timeout {h.timeout_ms} ms)")
    what = "Failing" if h.failing else "Slow"
    return f"{what}: {h.provider} · {h.method} {' and '.join(parts)}."


def _offering_links(h: OfferingHealth, may: Callable[[str], bool]) -> tuple[Link, ...]:
    if not may(OPS):
        return ()
    changelist = reverse("admin:catalog_offering_changelist")
    return (
        Link(f"{changelist}?{urlencode({'id__exact': h.offering_id})}", "its breaker"),
        Link(reverse("admin:catalog_provider_change", args=[h.provider_id]), "the provider"),
    )


def _hold_lines(readings: Readings, may: Callable[[str], bool]) -> list[Line]:
    reading = readings.holds
    if reading.value is None:
        return [Line(f"Dangling holds: unknown, {reading.why_unknown}.", True)]
    holds = reading.value
    if not holds.count:
        return []
    more = "+" if holds.count >= room.CAP_ROWS else ""
    oldest = f", the oldest taken {_clock(holds.oldest)}" if holds.oldest else ""
    links: tuple[Link, ...] = ()
    if may(RELEASE_RUNS):
        links = (Link(reverse("admin:ledger_holdreleaserun_changelist"), "release runs"),)
    return [
        Line(
            f"Dangling credit holds: {holds.count}{more} older than {holds.age_s // 60} min"
            f"{oldest}. Their calls' processes died mid-call.",
            links=links,
            hint="The beat task ledger.release_dangling_holds releases them; "
            "`manage.py ledger_check --release-dangling` does it now.",
        )
    ]


def _dead_letter_lines(readings: Readings) -> list[Line]:
    reading = readings.dead_letters
    if reading is None:
        return []
    if reading.value is None:
        return [Line(f"Dead-letter queue: unknown, {reading.why_unknown}.", True)]
    return [
        Line(
            f"Dead-letter queue {d.queue}: {d.messages} message{'s' if d.messages != 1 else ''}.",
            hint="Each carries its reason in the x-gateway-dead-reason header (docs/async.md).",
        )
        for d in reading.value
        if d.messages
    ]


def _error_lines(readings: Readings, may: Callable[[str], bool]) -> list[Line]:
    reading = readings.errors
    minutes = int(room.ERROR_WINDOW.total_seconds() // 60)
    if reading.value is None:
        return [Line(f"5xx rate, last {minutes} min: unknown, {reading.why_unknown}.", True)]
    found = reading.value
    if found.rate is None or found.rate < ERROR_RATE_ALERT:
        return []
    newest = " newest" if found.capped else ""
    links: tuple[Link, ...] = ()
    if may(FINANCE):
        query = urlencode({"http_status__gte": 500, "created_at__gte": found.since.isoformat()})
        changelist = reverse("admin:ledger_ledgerentry_changelist")
        links = (
            Link(f"{changelist}?{query}", "these calls"),
            Link(reverse("admin:ledger_dashboard"), "the dashboard"),
        )
    return [
        Line(
            f"5xx rate, last {minutes} min: {found.rate:.1%} "
            f"({found.errors} of the{newest} {found.calls} calls).",
            links=links,
        )
    ]


def _clock(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return timezone.localtime(moment).strftime("%H:%M:%S %Z")
