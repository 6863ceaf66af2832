"""Reading the ledger for checks: does every balance equal the sum of its client's rows?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core.fields import MoneyField
from apps.core.money import ZERO
from apps.ledger.models import LedgerEntry


@dataclass(frozen=True)
class BalanceDifference:
    """A client whose stored figures disagree with its ledger rows or credit holds."""

    client_id: int
    client_slug: str
    balance: Decimal
    ledger_sum: Decimal
    held: Decimal
    holds_sum: Decimal

    @property
    def balance_off_by(self) -> Decimal:
        return self.balance - self.ledger_sum

    @property
    def held_off_by(self) -> Decimal:
        return self.held - self.holds_sum


def ledger_balance_differences() -> list[BalanceDifference]:
    """Every client whose balance is not the sum of its rows, or `held` not its open holds.

    One statement, so calls settling meanwhile cannot show up as a difference: the
    figures and both sums are read from the same snapshot.
    """

    def sum_of(model: type[LedgerEntry] | type[CreditHold]) -> Coalesce:
        rows = model.objects.filter(client_id=OuterRef("pk")).order_by().values("client_id")
        total = rows.annotate(total=Sum("amount")).values("total")
        return Coalesce(Subquery(total), Value(ZERO), output_field=MoneyField())

    rows = (
        Client.objects.annotate(ledger_sum=sum_of(LedgerEntry), holds_sum=sum_of(CreditHold))
        .filter(~Q(balance=F("ledger_sum")) | ~Q(held=F("holds_sum")))
        .order_by("slug")
        .values_list("id", "slug", "balance", "ledger_sum", "held", "holds_sum")
    )
    return [BalanceDifference(*row) for row in rows]


def credit_holds_dangling(*, older_than: timedelta) -> list[CreditHold]:
    """Holds older than any call can run: their process died between hold and settle."""
    cutoff = timezone.now() - older_than
    return list(
        CreditHold.objects.filter(created_at__lt=cutoff).select_related("client").order_by("id")
    )


def ledger_free_calls_used(*, client_id: int, method: str, since: datetime) -> int:
    """How many free calls of `method` the ledger shows for the client since `since`.

    Seeds the month's free-call counter when Redis does not have it (once per client x
    method x month, not per call).
    """
    service, _, name = method.partition(".")
    return LedgerEntry.objects.filter(
        client_id=client_id, created_at__gte=since, service=service, method=name, free_call=True
    ).count()
