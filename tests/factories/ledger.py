"""Ledger rows: written the way the call path writes them (LedgerEntryFactory, call_row), or
stored as given (ledger_entry)."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_record_call
from tests.factories.accounts import ClientFactory

ATTEMPTS = [
    {"provider": "fixer", "outcome": "timeout", "latency_ms": 2001, "error": "ReadTimeout"},
    {"provider": "sandbox", "outcome": "ok", "latency_ms": 3},
]
ROUTING = {"strategy": "priority", "candidates": ["fixer", "sandbox"], "skipped": []}


def ledger_entry(client: Client, **fields: Any) -> LedgerEntry:
    """A call's row stored as given (no rollup, no balance moved, amount 0 unless given),
    with the two attempts and the routing decision the admin shows."""
    values: dict[str, Any] = {
        "request_id": "req-0001",
        "client": client,
        "service": "currency",
        "method": "latest_rates",
        "provider": "sandbox",
        "status": LedgerEntry.Status.SUCCEEDED,
        "http_status": 200,
        "cost": Decimal("0.0010"),
        "price": Decimal("0.0100"),
        "currency": "USD",
        "attempts": ATTEMPTS,
        "routing": ROUTING,
        "latency_ms": 2010,
    }
    values.update(fields)
    return LedgerEntry.objects.create(**values)


class LedgerEntryFactory(DjangoModelFactory[LedgerEntry]):
    """A call's ledger row (a charge of -price), recorded through the same service as a
    real call: its day's rollup and the client's balance move with it."""

    class Meta:
        model = LedgerEntry

    request_id = factory.Sequence(lambda n: f"req-{n + 1:06d}")
    client = factory.SubFactory(ClientFactory)
    service = "currency"
    method = "latest_rates"
    provider = "fixer"
    status = LedgerEntry.Status.SUCCEEDED
    http_status = 200
    cost = Decimal("0.0010")
    price = Decimal("0.0100")
    currency = "USD"
    country = factory.LazyAttribute(lambda o: o.client.country)
    created_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class: type[LedgerEntry], *args: Any, **kwargs: Any) -> LedgerEntry:
        return ledger_record_call(hold=None, **kwargs)


def call_row(client: Client, created_at: datetime, **fields: Any) -> LedgerEntry:
    """A call's ledger row for `client` at `created_at` (any field overridable)."""
    return LedgerEntryFactory.create(client=client, created_at=created_at, **fields)
