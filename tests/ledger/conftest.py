"""The finance tests' shared fixtures: a finance user, and a month of calls."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_reverse, ledger_topup
from tests import factories
from tests.factories import call_row, staff_user

NOV = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def finance(api: HttpClient) -> HttpClient:
    api.force_login(staff_user("fiona", "finance"))
    return api


@pytest.fixture
def month_of_calls() -> None:
    """Calls across providers, clients, countries and days, a refund, a top-up, a failure."""
    acme = factories.ClientFactory(slug="acme", country="DE")
    globex = factories.ClientFactory(slug="globex", country="FR")
    for day in range(0, 30, 3):
        start = NOV + timedelta(days=day, hours=day % 24)
        call_row(acme, start, provider="fixer", cost=Decimal("0.0010"))
        call_row(acme, start + timedelta(minutes=5), provider="openexchangerates")
        call_row(globex, start, provider="fixer", method="convert", price=Decimal("0.0050"))
    call_row(
        globex,
        NOV + timedelta(days=2),
        provider="",
        status=LedgerEntry.Status.FAILED,
        price=Decimal("0"),
        cost=Decimal("0"),
    )
    refunded = call_row(acme, NOV + timedelta(days=4), provider="fixer", price=Decimal("0.0300"))
    ledger_reverse(entry=refunded, reason="outage credit", staff_user=None)
    ledger_topup(client=acme, amount=Decimal("100"), reason="wire", staff_user=None)
    call_row(acme, NOV - timedelta(hours=1))  # October: outside the month
    call_row(acme, NOV + timedelta(days=30, minutes=1))  # December
