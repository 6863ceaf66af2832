"""python manage.py ledger_check: balances against ledger rows, and dangling credit holds."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import credit_hold
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_record_call, ledger_topup
from tests import factories

pytestmark = pytest.mark.django_db


def check(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("ledger_check", *args, stdout=out)
    except SystemExit as exit_:
        return int(exit_.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_a_consistent_ledger_passes():
    client = factories.ClientFactory()
    ledger_topup(client=client, amount=Decimal("10"), reason="wire", staff_user=None)

    assert check() == (0, "Every balance equals the sum of its client's ledger rows.\n")


def test_a_balance_that_differs_from_its_rows_is_reported():
    # given a balance changed behind the ledger's back
    acme = factories.ClientFactory(slug="acme")
    factories.ClientFactory(slug="globex")
    ledger_topup(client=acme, amount=Decimal("10"), reason="wire", staff_user=None)
    Client.objects.filter(pk=acme.pk).update(balance=Decimal("12.5"))

    # when
    code, output = check()

    # then
    assert code == 1
    assert "acme: balance 12.5000 but its ledger rows sum to 10.0000 (off by 2.5000)" in output
    assert "globex" not in output


def hold_for(client: Client, request_id: str = "req-lost") -> None:
    assert credit_hold(
        client_id=client.pk,
        amount=Decimal("0.0100"),
        request_id=request_id,
        method="currency.latest_rates",
    )


def test_a_call_in_flight_is_not_a_difference():
    # given a hold taken a minute ago by a call still running
    hold_for(factories.ClientFactory())

    # then
    assert check()[0] == 0


def test_a_hold_older_than_any_call_is_reported_and_released_on_request():
    # given a hold whose process died 20 minutes ago, between the hold and the settle
    client = factories.ClientFactory(slug="acme")
    with time_machine.travel(timezone.now() - timedelta(minutes=20)):
        hold_for(client)

    # when
    found = check()
    released = check("--release-dangling")
    after = check()

    # then
    assert found[0] == 1
    assert "acme: dangling hold of 0.0100 (currency.latest_rates, request req-lost" in found[1]
    assert released[0] == 0 and "released hold of 0.0100 for acme" in released[1]
    assert after[0] == 0
    row = LedgerEntry.objects.get(request_id="req-lost")
    assert (row.status, row.error_type, row.amount, row.method) == (
        "failed",
        "interrupted",
        Decimal("0"),
        "latest_rates",
    )
    client.refresh_from_db()
    assert (client.balance, client.held) == (Decimal("0"), Decimal("0"))
    assert not CreditHold.objects.exists()


def test_a_late_settle_after_a_release_does_not_release_twice():
    # given a hold released as dangling
    client = factories.ClientFactory()
    held = credit_hold(
        client_id=client.pk,
        amount=Decimal("0.0100"),
        request_id="req-slow",
        method="currency.latest_rates",
    )
    assert held is not None
    check("--release-dangling", "--hold-age=0")

    # when its call settles after all
    ledger_record_call(
        hold=held,
        request_id="req-slow",
        client_id=client.pk,
        service="currency",
        method="latest_rates",
        status="succeeded",
        http_status=200,
        cost=Decimal("0.0010"),
        price=Decimal("0.0100"),
        currency="USD",
        latency_ms=5,
    )

    # then the charge is booked and nothing is held
    client.refresh_from_db()
    assert (client.balance, client.held) == (Decimal("-0.0100"), Decimal("0"))
    assert check()[0] == 0
