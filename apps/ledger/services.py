"""Recording calls in the ledger."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction

from apps.billing.services import credit_release
from apps.ledger.models import LedgerEntry


@transaction.atomic
def ledger_record_call(
    *, held: Decimal, after: Callable[[LedgerEntry], None] | None = None, **fields: Any
) -> LedgerEntry:
    """Write the call's row and release whatever part of the hold was not charged.

    Both commit together: the balance never moves without the row that explains it.
    `after` runs in the same transaction (a service recording state about its call).
    """
    entry = LedgerEntry.objects.create(**fields)
    unused = held - entry.price
    if unused > 0:
        credit_release(client_id=entry.client_id, amount=unused)
    if after is not None:
        after(entry)
    return entry
