"""Reading the ledger: checks (does every balance equal the sum of its client's rows?) and
finance's rows, summaries and exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.core.fields import MoneyField
from apps.core.money import ZERO
from apps.ledger.models import LedgerDay, LedgerEntry
from apps.ledger.rollup import ROLLED_UP_KINDS, accounting_tz
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


# --- Finance: rows, summaries, exports --------------------------------------------------------


@dataclass(frozen=True)
class LedgerFilters:
    """What finance narrows the ledger to; every field optional.

    `created_after` is inclusive and `created_before` exclusive, so consecutive months never
    count a row twice. `method` is a method slug or a full key (`currency.latest_rates`).
    """

    client: str | None = None
    service: str | None = None
    method: str | None = None
    provider: str | None = None
    status: str | None = None
    channel: str | None = None
    kind: str | None = None
    request_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    client_id: int | None = None  # a client reading its own usage

    def apply(self, rows: QuerySet[Any], *, rollup: bool = False) -> QuerySet[Any]:
        """Narrow ledger rows (or, with `rollup`, LedgerDay buckets) to these filters."""
        q = Q()
        if self.client:
            q &= Q(client__slug=self.client)
        if self.client_id is not None:
            q &= Q(client_id=self.client_id)
        service, method = self.service, self.method
        if method and "." in method:
            service, method = method.split(".", 1)
        for name, value in (("service", service), ("method", method), ("provider", self.provider)):
            if value is not None and value != "":
                q &= Q(**{name: value})
        if rollup:
            tz = accounting_tz()
            if self.created_after:
                q &= Q(day__gte=timezone.localtime(self.created_after, tz).date())
            if self.created_before:
                q &= Q(day__lt=timezone.localtime(self.created_before, tz).date())
            return rows.filter(q)
        for name, value in (
            ("status", self.status),
            ("channel", self.channel),
            ("kind", self.kind),
            ("request_id", self.request_id),
        ):
            if value:
                q &= Q(**{name: value})
        if self.created_after:
            q &= Q(created_at__gte=self.created_after)
        if self.created_before:
            q &= Q(created_at__lt=self.created_before)
        return rows.filter(q)

    def rollup_can_answer(self) -> bool:
        """The daily rollup holds no status, channel or request id, and whole days only."""
        if self.status or self.channel or self.request_id or self.kind:
            return False
        return all(
            _is_accounting_midnight(bound)
            for bound in (self.created_after, self.created_before)
            if bound is not None
        )


def _is_accounting_midnight(moment: datetime) -> bool:
    local = timezone.localtime(moment, accounting_tz())
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def ledger_rows(*, filters: LedgerFilters) -> QuerySet[LedgerEntry]:
    """Ledger rows for finance, newest first, with what their output needs in one query."""
    return filters.apply(
        LedgerEntry.objects.select_related("client", "created_by", "reverses")
    ).order_by("-created_at", "-id")


SUMMARY_GROUPS = ("provider", "client", "service", "method", "day", "country")


@dataclass(frozen=True)
class SummaryLine:
    group: dict[str, str]
    calls: int
    cost: Decimal
    revenue: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


def ledger_summary(*, group_by: list[str], filters: LedgerFilters) -> list[SummaryLine]:
    """Calls, cost, revenue and margin per group (see docs/finance.md for the definitions).

    Calls are charge rows; cost is what the serving providers cost us; revenue is what
    clients were charged (prices of charges minus refunds). Read from the daily rollup when
    it can answer (no status/channel filter, whole accounting days), else from the rows.
    """
    unknown = set(group_by) - set(SUMMARY_GROUPS)
    if unknown:
        raise ValueError(f"cannot group by {', '.join(sorted(unknown))}")
    if filters.rollup_can_answer():
        source: QuerySet[Any] = filters.apply(LedgerDay.objects.all(), rollup=True)
        aggregates: dict[str, Any] = {
            "n_calls": Sum("calls", default=0),
            "sum_cost": Sum("cost", default=ZERO),
            "sum_revenue": Sum("revenue", default=ZERO),
        }
        day_expression: Any = F("day")
    else:
        source = filters.apply(LedgerEntry.objects.filter(kind__in=ROLLED_UP_KINDS))
        charges = Q(kind=LedgerEntry.Kind.CHARGE)
        aggregates = {
            "n_calls": Count("id", filter=charges),
            "sum_cost": Sum("cost", filter=charges, default=ZERO),
            "sum_revenue": -Sum("amount", default=ZERO),
        }
        day_expression = TruncDate("created_at", tzinfo=accounting_tz())
    columns = {
        "provider": F("provider"),
        "client": F("client__slug"),
        "service": F("service"),
        "method": F("method"),
        "day": day_expression,
        "country": F("country"),
    }
    keys = [f"g_{name}" for name in group_by]
    rows = (
        source.order_by()
        .annotate(**{f"g_{name}": columns[name] for name in group_by})
        .values(*keys)
        .annotate(**aggregates)
        .order_by(*keys)
    )
    return [
        SummaryLine(
            group={name: str(row[f"g_{name}"]) for name in group_by},
            calls=row["n_calls"],
            cost=row["sum_cost"],
            revenue=row["sum_revenue"],
        )
        for row in rows
    ]


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
    rows = filters.apply(LedgerEntry.objects.all()).values_list(
        *(_EXPORT_SOURCES.get(column, column) for column in EXPORT_COLUMNS), "id"
    )
    after: tuple[datetime, int] | None = None
    while True:
        page = rows
        if after is not None:
            # The first condition lets PostgreSQL start its created_at index scan at the last
            # row read instead of at the start of the range (each batch costs the same).
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
