"""Holding and settling the price of a call against a client's balance and credit limit.

A call first holds its price with one conditional UPDATE (so concurrent calls can never
spend past the limit), then settles: the ledger row and any release of the hold commit in
one transaction.
"""

from decimal import Decimal

from django.db.models import F, Value

from apps.accounts.models import Client


def credit_hold(*, client_id: int, amount: Decimal) -> bool:
    """Take `amount` from the balance if balance - amount >= -credit_limit. True if taken."""
    if amount <= 0:
        return True
    updated = Client.objects.filter(
        pk=client_id, balance__gte=Value(amount) - F("credit_limit")
    ).update(balance=F("balance") - amount)
    return updated == 1


def credit_release(*, client_id: int, amount: Decimal) -> None:
    """Give back a hold that was not charged. Call inside the settling transaction."""
    if amount > 0:
        Client.objects.filter(pk=client_id).update(balance=F("balance") + amount)
