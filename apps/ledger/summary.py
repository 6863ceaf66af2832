"""The finance summary: calls, cost, revenue and margin per group, for any range.

Whole accounting days are read from the daily rollup (LedgerDay: thousands of buckets instead
of millions of rows); the partial days at either end of a range, and any filter the rollup
does not hold (kind, request id, API key), are summed from the rows, and the two merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.core.money import ZERO
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.rollup import ROLLED_UP_KINDS, accounting_tz
from apps.ledger.selectors import LedgerFilters

SUMMARY_GROUPS = ("provider", "client", "service", "method", "day", "country")


@dataclass(frozen=True)
class SummaryLine:
    group: dict[str, str]
    calls: int
    cost: Decimal
    revenue: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


def ledger_summary(*, group_by: list[str], filters: LedgerFilters) -> list[SummaryLine]:
    """Calls, cost, revenue and margin per group (see docs/finance.md for the definitions);
    with no `group_by`, one line of totals.

    Calls are charge rows; cost is what the serving providers cost us; revenue is what
    clients were charged (prices of charges minus refunds).
    """
    unknown = set(group_by) - set(SUMMARY_GROUPS)
    if unknown:
        raise ValueError(f"cannot group by {', '.join(sorted(unknown))}")
    resolved = filters.resolved()
    totals: dict[tuple[str, ...], list[Any]] = {}
    if resolved is not None:
        whole_days, edges = split_by_days(resolved)
        parts = [_from_rows(edge, group_by) for edge in edges]
        if whole_days is not None:
            parts.append(_from_rollup(whole_days, group_by))
        for part in parts:
            for key, calls, cost, revenue in part:
                line = totals.setdefault(key, [0, ZERO, ZERO])
                line[0] += calls
                line[1] += cost
                line[2] += revenue
    if not group_by and not totals:
        totals[()] = [0, ZERO, ZERO]
    return [
        SummaryLine(
            group=dict(zip(group_by, key, strict=True)), calls=calls, cost=cost, revenue=revenue
        )
        for key, (calls, cost, revenue) in sorted(totals.items())
    ]


def split_by_days(filters: LedgerFilters) -> tuple[LedgerFilters | None, list[LedgerFilters]]:
    """The range's whole accounting days (for the rollup, None if there are none or the
    rollup cannot answer these filters) and the partial days at its ends (for the rows)."""
    if filters.kind or filters.request_id or filters.api_key_id is not None:
        return None, [filters]
    after, before = filters.created_after, filters.created_before
    first = _next_midnight(after) if after is not None else None
    last = _midnight_before(before) if before is not None else None
    if first is not None and last is not None and first >= last:
        return None, [filters]
    edges = []
    if after is not None and first is not None and after < first:
        edges.append(replace(filters, created_before=first))
    if before is not None and last is not None and last < before:
        edges.append(replace(filters, created_after=last))
    return replace(filters, created_after=first, created_before=last), edges


def _midnight_before(moment: datetime) -> datetime:
    """The accounting midnight at or before `moment`."""
    tz = accounting_tz()
    return datetime.combine(timezone.localtime(moment, tz).date(), time(), tzinfo=tz)


def _next_midnight(moment: datetime) -> datetime:
    """The accounting midnight at or after `moment`."""
    midnight = _midnight_before(moment)
    if midnight == moment:
        return midnight
    tz = accounting_tz()
    return datetime.combine(midnight.date() + timedelta(days=1), time(), tzinfo=tz)


Part = Iterable[tuple[tuple[str, ...], int, Decimal, Decimal]]


def _from_rollup(filters: LedgerFilters, group_by: list[str]) -> Part:
    source = filters.apply(LedgerDay.objects.all(), rollup=True)
    aggregates = {
        "n_calls": Sum("calls", default=0),
        "sum_cost": Sum("cost", default=ZERO),
        "sum_revenue": Sum("revenue", default=ZERO),
    }
    return _grouped(source, group_by, aggregates, day=F("day"))


def _from_rows(filters: LedgerFilters, group_by: list[str]) -> Part:
    source = filters.apply(LedgerEntry.objects.filter(kind__in=ROLLED_UP_KINDS))
    charges = Q(kind=LedgerEntry.Kind.CHARGE)
    aggregates = {
        "n_calls": Count("id", filter=charges),
        "sum_cost": Sum("cost", filter=charges, default=ZERO),
        "sum_revenue": -Sum("amount", default=ZERO),
    }
    return _grouped(
        source, group_by, aggregates, day=TruncDate("created_at", tzinfo=accounting_tz())
    )


def _grouped(
    source: QuerySet[Any], group_by: list[str], aggregates: dict[str, Any], day: Any
) -> Part:
    if not group_by:  # one line of totals
        row = source.order_by().aggregate(**aggregates)
        if not row["n_calls"] and not row["sum_cost"] and not row["sum_revenue"]:
            return []
        return [((), row["n_calls"], row["sum_cost"], row["sum_revenue"])]
    columns = {
        "provider": F("provider"),
        "client": F("client__slug"),
        "service": F("service"),
        "method": F("method"),
        "day": day,
        "country": F("country"),
    }
    keys = [f"g_{name}" for name in group_by]
    rows = (
        source.order_by()
        .annotate(**{f"g_{name}": columns[name] for name in group_by})
        .values(*keys)
        .annotate(**aggregates)
    )
    return [
        (
            tuple(str(row[key]) for key in keys),
            row["n_calls"],
            row["sum_cost"],
            row["sum_revenue"],
        )
        for row in rows
    ]
