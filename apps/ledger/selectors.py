"""Reading the ledger: checks (does every balance equal the sum of its client's rows?) and
finance's rows and exports (filtered by apps.ledger.filters.LedgerFilters)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core.fields import MoneyField
from apps.core.money import ZERO
from apps.ledger.filters import LedgerFilters
from apps.ledger.models import LedgerEntry
from apps.realtime.models import AsyncCall


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
    """Holds older than any call can run: their process died between hold and settle.

    A background call's hold is not one of them while the call is not final: it stays held
    across the call's retries, which may together last longer than any one deadline.
    """
    cutoff = timezone.now() - older_than
    background = AsyncCall.objects.filter(hold_id__isnull=False).exclude(status__in=AsyncCall.FINAL)
    return list(
        CreditHold.objects.filter(created_at__lt=cutoff)
        .exclude(id__in=background.values("hold_id"))
        .select_related("client")
        .order_by("id")
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


# --- Finance: rows and exports ----------------------------------------------------------------


def ledger_rows(*, filters: LedgerFilters) -> QuerySet[LedgerEntry]:
    """Ledger rows for finance, newest first, with what their output needs in one query
    (after one query per name to resolve)."""
    resolved = filters.resolved()
    if resolved is None:
        return LedgerEntry.objects.none()
    rows = LedgerEntry.objects.select_related("client", "created_by", "reverses", "api_key")
    return resolved.rows_of(rows).order_by("-created_at", "-id")


def ledger_usage_rows(*, client_id: int, filters: LedgerFilters) -> QuerySet[LedgerEntry]:
    """A client's own rows, newest first, through ledger_by_client."""
    return replace(filters, client_id=client_id).rows_of(LedgerEntry.objects.all())


# The CSV's columns, and where each comes from when it is not the row's own field.
_EXPORT_SOURCES = {"client": "client__slug", "reverses": "reverses__request_id"}
EXPORT_COLUMNS = (
    "created_at",
    "request_id",
    "kind",
    "client",
    "service",
    "method",
    "provider",
    "status",
    "http_status",
    "price",
    "cost",
    "amount",
    "currency",
    "cached",
    "free_call",
    "latency_ms",
    "channel",
    "country",
    "source_ip",
    "error_type",
    "reverses",
    "reason",
)


def ledger_export_batches(
    *, filters: LedgerFilters, batch_size: int = 5000
) -> Iterator[list[tuple[Any, ...]]]:
    """The filtered rows, oldest first, in batches of plain tuples (EXPORT_COLUMNS order).

    Each batch is its own keyset query (after the last row's created_at and id), so memory
    stays constant however large the range, no cursor or transaction is held between
    batches, and rows written meanwhile with later times are included.
    """
    resolved = filters.resolved()
    if resolved is None:
        return
    rows = resolved.rows_of(LedgerEntry.objects.all()).values_list(
        *(_EXPORT_SOURCES.get(column, column) for column in EXPORT_COLUMNS), "id"
    )
    after: tuple[datetime, int] | None = None
    while True:
        page = rows
        if after is not None:
            # The first condition lets PostgreSQL start its (…, created_at, id) index scan at
            # the last row read instead of at the start of the range (each batch costs the
            # same).
            page = page.filter(created_at__gte=after[0]).filter(
                Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1])
            )
        batch = list(page.order_by("created_at", "id")[:batch_size])
        if not batch:
            return
        yield [row[:-1] for row in batch]
        if len(batch) < batch_size:
            return
        after = (batch[-1][0], batch[-1][-1])


def ledger_call_get(*, client_id: int, request_id: str) -> LedgerEntry | None:
    """The ledger row of one of this client's calls (the latest, if the id was reused)."""
    return (
        LedgerEntry.objects.filter(
            client_id=client_id, request_id=request_id, kind=LedgerEntry.Kind.CHARGE
        )
        .order_by("-created_at", "-id")
        .first()
    )
