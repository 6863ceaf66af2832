"""Ledger rows, written the way the call path writes them."""

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
