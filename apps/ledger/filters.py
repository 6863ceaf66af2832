"""What finance narrows the ledger to (LedgerFilters), and how a filtered read reaches a
small client's rows through the client's own index."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat

from apps.accounts.models import Client, ClientApiKey
from apps.ledger.models import LedgerEntry
from apps.ledger.rollup import accounting_day


@dataclass(frozen=True)
class LedgerFilters:
    """What finance narrows the ledger to; every field optional.

    `created_after` is inclusive and `created_before` exclusive, so consecutive months never
    count a row twice. `method` is a method slug or a full key (`currency.latest_rates`).
    `client` (a slug) and `api_key` (a key's prefix) are names: `resolved()` turns them into
    ids first, so the ledger is read through its own indexes, never joined row by row.
    """

    client: str | None = None
    api_key: str | None = None
    service: str | None = None
    method: str | None = None
    provider: str | None = None
    status: str | None = None
    channel: str | None = None
    kind: str | None = None
    request_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    client_id: int | None = None  # a client reading its own usage, or a resolved slug
    api_key_id: str | None = None  # a resolved prefix

    def resolved(self) -> LedgerFilters | None:
        """These filters by ids (one small query per name), or None if a name matches
        nothing: then no row can match, and the ledger need not be read at all."""
        filters = self
        if self.client:
            found = list(Client.objects.filter(slug=self.client).values_list("pk", flat=True))
            if not found or self.client_id not in (None, found[0]):
                return None
            filters = replace(filters, client=None, client_id=found[0])
        if self.api_key:
            keys = ClientApiKey.objects.filter(prefix=self.api_key).values_list("pk", flat=True)
            found_key = list(keys)
            if not found_key:
                return None
            filters = replace(filters, api_key=None, api_key_id=found_key[0])
        return filters

    def apply(
        self, rows: QuerySet[Any], *, rollup: bool = False, fenced: bool = False
    ) -> QuerySet[Any]:
        """Narrow resolved ledger rows (or, with `rollup`, LedgerDay buckets) to these filters;
        the day bounds of `rollup` are the accounting days of the two instants. `fenced`
        compares every column but the client and the time through an expression no index
        can serve (see rows_of_client)."""
        if self.client or self.api_key:
            raise ValueError("resolve the filters' names first")
        q = Q()
        if self.client_id is not None:
            q &= Q(client_id=self.client_id)
        service, method = self.service, self.method
        if method and "." in method:
            service, method = method.split(".", 1)
        equal: dict[str, Any] = {
            "service": service,
            "method": method,
            "provider": self.provider,
            "status": self.status,
            "channel": self.channel,
        }
        if not rollup:
            equal |= {"api_key_id": self.api_key_id, "kind": self.kind}
        for name, value in equal.items():
            if not value:
                continue
            if fenced:
                rows = rows.alias(**{f"{name}_fenced": Concat(F(name), Value(""))})
                name = f"{name}_fenced"
            q &= Q(**{name: value})
        if rollup:
            if self.created_after:
                q &= Q(day__gte=accounting_day(self.created_after))
            if self.created_before:
                q &= Q(day__lt=accounting_day(self.created_before))
            return rows.filter(q)
        if self.request_id:
            q &= Q(request_id=self.request_id)
        if self.created_after:
            q &= Q(created_at__gte=self.created_after)
        if self.created_before:
            q &= Q(created_at__lt=self.created_before)
        return rows.filter(q)

    def rows_of(self, rows: QuerySet[Any]) -> QuerySet[Any]:
        """These filters applied to ledger rows, a small client's through its own index.

        PostgreSQL estimates a client it holds no statistics for (any but the few hundred
        largest) at the average share of the rest, so for a client with three rows and a
        method filter it intersects the client's index with the method's (hundreds of
        thousands of entries) rather than read the three rows. One probe of the client's
        index (an index-only scan of at most SMALL_CLIENT_ROWS entries) tells how many rows
        the client holds in the range; when few, the other filters are compared through
        an expression no index serves, leaving the client's index the only way in. A
        large client has its statistics, and the planner its free choice.
        """
        others = (
            self.service,
            self.method,
            self.provider,
            self.status,
            self.channel,
            self.kind,
            self.api_key_id,
        )
        if self.client_id is None or self.request_id or not any(others):
            return self.apply(rows)
        probe = replace(self, **dict.fromkeys(_FENCEABLE)).apply(LedgerEntry.objects.all())
        beyond = probe.order_by("created_at", "id").values_list("id", flat=True)
        small = not list(beyond[SMALL_CLIENT_ROWS : SMALL_CLIENT_ROWS + 1])
        return self.apply(rows, fenced=small)


SMALL_CLIENT_ROWS = 2_000
_FENCEABLE = ("service", "method", "provider", "status", "channel", "kind", "api_key_id")
