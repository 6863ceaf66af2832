"""ledger_generate without PostgreSQL (or with --portable): the same ledger, made in Python.

Rows are drawn as DAY_SQL draws them (same shares per client and day, statuses, channels,
prices), bulk-created a day at a time with the clients' balances moved in the same
transaction; the rollup is rebuilt from the rows at the end. Slow: for small ledgers only.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from math import floor
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import ledger_rollup_rebuild

# (client id, rows, home country, key ids, favourite offering, phase)
GenClient = tuple[int, int, str, list[str | None], int, float]
# (index, service, method, provider, cost, price)
GenOffering = tuple[int, str, str, str, Decimal, Decimal]

COUNTRIES = ["DE", "FR", "GB", "US", "NL", "ES", "IT", "PL", "SE", "BR"]
TOPUP_REASON = "Invoice paid by wire transfer (generated)"
ZERO = Decimal(0)
OUTCOMES = {  # status: (http status, error type, attempt outcome)
    "succeeded": (200, "", "ok"),
    "failed": (502, "upstream_error", "adapter_error"),
    "rejected": (422, "invalid_params", "rejected"),
    "unknown": (504, "outcome_unknown", "timeout"),
}


def _status(roll: float) -> str:
    if roll < 0.95:
        return "succeeded"
    if roll < 0.98:
        return "failed"
    return "rejected" if roll < 0.995 else "unknown"


def _channel(roll: float) -> str:
    for bound, channel in ((0.80, "http"), (0.88, "async"), (0.93, "ws"), (0.98, "mq")):
        if roll < bound:
            return channel
    return "webhook"


def _ip(roll: float) -> str:
    return f"198.51.100.{1 + int(roll * 250)}"


def _entry(
    rng: random.Random,
    client: GenClient,
    offerings: list[GenOffering],
    start: datetime,
    span: float,
) -> LedgerEntry:
    cid, _, home, keys, fav, _ = client
    index = fav if rng.random() < 0.5 else rng.randrange(len(offerings))
    _, service, method, provider, cost, price = offerings[index]
    r_status, r_extra, r_chan, r_country = (rng.random() for _ in range(4))
    status = _status(r_status)
    served = status == "succeeded"
    cached, free = served and r_extra < 0.05, served and r_extra > 0.98
    charged = price if served and not free else ZERO
    provider = provider if status in ("succeeded", "unknown") else ""
    http_status, error_type, outcome = OUTCOMES[status]
    latency = 20 + floor(rng.random() ** 3 * 2500)
    channel = _channel(r_chan)
    attempt = {"provider": provider or "none", "outcome": outcome, "latency_ms": latency}
    return LedgerEntry(
        request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        kind=LedgerEntry.Kind.CHARGE,
        client_id=cid,
        api_key_id=rng.choice(keys),
        service=service,
        method=method,
        provider=provider,
        status=status,
        http_status=http_status,
        error_type=error_type,
        cost=cost if served and not cached else ZERO,
        price=charged,
        amount=-charged,
        currency=settings.ACCOUNTING_CURRENCY,
        cached=cached,
        free_call=free,
        attempts=[] if cached else [attempt],
        routing={"strategy": "priority", "candidates": [provider], "skipped": []},
        latency_ms=latency,
        channel=channel,
        source_ip=None
        if channel in ("mq", "webhook")
        else f"198.51.100.{1 + int(r_country * 250)}",
        country=home if r_country < 0.9 else COUNTRIES[int(r_chan * 10)],
        created_at=start + timedelta(seconds=rng.random() * span),
    )


def _topups(rng: random.Random, unpaid: dict[int, Decimal], at: datetime) -> list[LedgerEntry]:
    return [
        LedgerEntry(
            request_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            kind=LedgerEntry.Kind.TOPUP,
            client_id=cid,
            status=LedgerEntry.Status.SUCCEEDED,
            amount=due,
            currency=settings.ACCOUNTING_CURRENCY,
            channel=LedgerEntry.Channel.STAFF,
            reason=TOPUP_REASON,
            created_at=at + timedelta(seconds=rng.random() * 3600),
        )
        for cid, due in unpaid.items()
        if due > 0
    ]


def write_days_portable(
    days: list[tuple[datetime, float]],
    clients: list[GenClient],
    offerings: list[GenOffering],
    stdout: Any,
) -> int:
    """Write the days' rows and top-ups, move the balances, rebuild the rollup."""
    rng = random.Random(6)
    total = sum(weight for _, weight in days)
    now, done, written = timezone.now(), 0.0, 0
    unpaid: dict[int, Decimal] = defaultdict(Decimal)
    for n, (start, weight) in enumerate(days):
        end = days[n + 1][0] if n + 1 < len(days) else now
        f0, f1 = done / total, 1.0 if n + 1 == len(days) else (done + weight) / total
        entries = []
        for client in clients:
            count, phase = client[1], client[5]
            for _ in range(floor(count * f1 + phase) - floor(count * f0 + phase)):
                entries.append(_entry(rng, client, offerings, start, (end - start).total_seconds()))
        entries.sort(key=lambda entry: entry.created_at)
        topups = _topups(rng, unpaid, start + timedelta(hours=1)) if start.day == 1 and n else []
        with transaction.atomic():
            LedgerEntry.objects.bulk_create([*topups, *entries], batch_size=2000)
            moved: dict[int, Decimal] = defaultdict(Decimal)
            for entry in [*topups, *entries]:
                moved[entry.client_id] += entry.amount
                unpaid[entry.client_id] -= entry.amount
            for cid, amount in moved.items():
                Client.objects.filter(pk=cid).update(balance=F("balance") + amount)
        done += weight
        written += len(entries)
    stdout.write(f"  {written:,} rows; rebuilding the rollup")
    ledger_rollup_rebuild()
    return written
