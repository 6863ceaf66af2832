"""Where finance's days begin and end, and what the rollup sums by: shared by its daily level
(apps.ledger.rollup), its monthly level (apps.ledger.months) and the finance reads."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

# The daily level's key (LedgerDay); the monthly level has the same without the day.
DIMENSIONS = (
    "day",
    "client_id",
    "service",
    "method",
    "provider",
    "country",
    "status",
    "channel",
)


def accounting_tz() -> ZoneInfo:
    return ZoneInfo(settings.ACCOUNTING_TIME_ZONE)


def accounting_day(moment: datetime) -> date:
    return timezone.localtime(moment, accounting_tz()).date()
