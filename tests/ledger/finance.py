"""Helpers for the finance tests: sums computed independently from the rows, and read from
an answer. (Call rows: tests.factories.call_row.)"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from apps.ledger.models import LedgerEntry


def expected_summary(group_by: list[str], **where: Any) -> dict[tuple[str, ...], dict[str, Any]]:
    """calls, cost, revenue, margin per group, summed in Python from every row."""
    tz = ZoneInfo(settings.ACCOUNTING_TIME_ZONE)
    after, before = where.pop("after", None), where.pop("before", None)
    totals: dict[tuple[str, ...], dict[str, Any]] = defaultdict(
        lambda: {"calls": 0, "cost": Decimal(0), "revenue": Decimal(0)}
    )
    for row in LedgerEntry.objects.select_related("client"):
        if row.kind not in ("charge", "refund"):
            continue
        if (after and row.created_at < after) or (before and row.created_at >= before):
            continue
        if any(getattr(row, name) != value for name, value in where.items()):
            continue
        values = {
            "provider": row.provider,
            "client": row.client.slug,
            "service": row.service,
            "method": row.method,
            "day": row.created_at.astimezone(tz).date().isoformat(),
            "country": row.country,
        }
        line = totals[tuple(values[name] for name in group_by)]
        if row.kind == "charge":
            line["calls"] += 1
            line["cost"] += row.cost
            line["revenue"] += row.price
        else:
            line["revenue"] -= row.amount
    return {
        key: {
            "calls": line["calls"],
            "cost": f"{line['cost']:.4f}",
            "revenue": f"{line['revenue']:.4f}",
            "margin": f"{line['revenue'] - line['cost']:.4f}",
        }
        for key, line in totals.items()
    }


def summary_by_group(body: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    return {
        tuple(line[name] for name in body["group_by"]): {
            name: line[name] for name in ("calls", "cost", "revenue", "margin")
        }
        for line in body["results"]
    }
