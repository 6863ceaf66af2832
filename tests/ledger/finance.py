"""Helpers for the finance tests: call rows written the way the call path writes them, users
in the roles the migration creates, and sums computed independently from the rows."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Group, User

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_record_call

_request_ids = itertools.count(1)


def call_row(client: Client, created_at: datetime, **fields: Any) -> LedgerEntry:
    """A call's ledger row, recorded through the same service as a real call."""
    values: dict[str, Any] = {
        "request_id": f"req-{next(_request_ids):06d}",
        "client": client,
        "service": "currency",
        "method": "latest_rates",
        "provider": "fixer",
        "status": LedgerEntry.Status.SUCCEEDED,
        "http_status": 200,
        "cost": Decimal("0.0010"),
        "price": Decimal("0.0100"),
        "currency": "USD",
        "country": client.country,
        "created_at": created_at,
    }
    values.update(fields)
    return ledger_record_call(hold=None, **values)


def staff_user(username: str, *groups: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


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
