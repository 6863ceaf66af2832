"""The credit hold and the settle, in both forms: one statement each on PostgreSQL, and the
ORM steps the embedded SQLite run takes."""

from decimal import Decimal

import pytest

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import credit_hold, credit_settle
from apps.core import statements
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["one-statement", "orm-steps"])
def form(request, monkeypatch) -> str:
    if request.param == "orm-steps":
        monkeypatch.setattr(statements, "sql_enabled", lambda: False)
    return request.param


def figures(client: Client) -> tuple[Decimal, Decimal]:
    client.refresh_from_db()
    return client.balance, client.held


def hold(client: Client, amount: str, request_id: str = "r"):
    return credit_hold(
        client_id=client.pk, amount=Decimal(amount), request_id=request_id, method="currency.x"
    )


def test_holds_are_taken_while_the_credit_covers_them(form):
    # given a client with 1.00 of credit and 0.40 on its balance
    client = factories.ClientFactory(credit_limit=Decimal("1.0000"))
    Client.objects.filter(pk=client.pk).update(balance=Decimal("0.4000"))

    # when calls hold 0.90, then 0.60, then 0.50
    first = hold(client, "0.90", "a")
    second = hold(client, "0.60", "b")
    third = hold(client, "0.50")

    # then the second did not fit (0.40 - 0.90 - 0.60 < -1.00); the third did, to the cent
    assert first is not None and third is not None and second is None
    assert figures(client) == (Decimal("0.4000"), Decimal("1.4000"))
    assert sorted(CreditHold.objects.values_list("request_id", "amount")) == [
        ("a", Decimal("0.9000")),
        ("r", Decimal("0.5000")),
    ]


def test_the_settle_charges_the_row_and_drops_the_hold(form):
    # given two calls in flight
    client = factories.ClientFactory(credit_limit=Decimal("1.0000"))
    served, failed = hold(client, "0.30", "served"), hold(client, "0.30", "failed")
    assert served is not None and failed is not None

    # when one is charged and the other not
    credit_settle(client_id=client.pk, amount=Decimal("-0.30"), hold=served)
    credit_settle(client_id=client.pk, amount=Decimal("0"), hold=failed)

    # then
    assert figures(client) == (Decimal("-0.3000"), Decimal("0"))
    assert not CreditHold.objects.exists()


def test_a_hold_released_already_is_not_released_twice(form):
    client = factories.ClientFactory()
    held = hold(client, "0.25")
    assert held is not None
    CreditHold.objects.filter(pk=held.id).delete()
    Client.objects.filter(pk=client.pk).update(held=Decimal("0"))

    credit_settle(client_id=client.pk, amount=Decimal("-0.25"), hold=held)

    assert figures(client) == (Decimal("-0.2500"), Decimal("0"))
