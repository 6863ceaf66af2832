"""Ledger rows are never changed or deleted through the ORM: corrections are new rows."""

from decimal import Decimal

import pytest
from django.db.models import ProtectedError

from apps.ledger.models import LedgerEntry, LedgerIsAppendOnly
from tests import factories
from tests.factories.ledger import ledger_entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry() -> LedgerEntry:
    return ledger_entry(factories.ClientFactory(), amount=Decimal("-0.0100"))


def test_a_row_cannot_be_saved_again(entry):
    entry.price = Decimal("0")

    with pytest.raises(LedgerIsAppendOnly):
        entry.save()

    assert LedgerEntry.objects.get(pk=entry.pk).price == Decimal("0.0100")


def test_a_row_cannot_be_deleted(entry):
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()

    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "write",
    [
        lambda rows: rows.update(price=Decimal("0")),
        lambda rows: rows.delete(),
        lambda rows: LedgerEntry.objects.bulk_update(list(rows), ["price"]),
        lambda rows: rows.update_or_create(request_id="req-0001", defaults={"price": 0}),
    ],
    ids=["update", "delete", "bulk_update", "update_or_create"],
)
def test_querysets_cannot_change_or_delete_rows(entry, write):
    with pytest.raises(LedgerIsAppendOnly):
        write(LedgerEntry.objects.filter(pk=entry.pk))

    assert LedgerEntry.objects.get(pk=entry.pk).price == Decimal("0.0100")


def test_an_api_key_that_made_calls_cannot_be_deleted_only_revoked():
    # given a key with a ledger row
    client = factories.ClientFactory()
    factories.api_key_for(client)
    key = client.api_keys.get()
    ledger_entry(client, api_key=key)

    # when / then its row keeps pointing at it
    with pytest.raises(ProtectedError):
        key.delete()
