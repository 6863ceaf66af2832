"""The ledger admin's search box and list filters: a term is resolved to ids first.

`icontains` over the ledger's text columns, or a join to the clients table filtered row by row,
reads every row of a ledger of tens of millions. Here the term is looked up where it is cheap
(the clients, API keys and providers tables, and the request_id index), and the ledger is then
filtered by those literal ids: the planner sees which clients they are (their share from the
column statistics, not an average), and the (client, created_at, id)-style indexes serve the
rows newest first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG, PAGE_VAR, ChangeList
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from apps.accounts.models import Client, ClientApiKey
from apps.catalog.models import Provider, Service
from apps.ledger.models import LedgerEntry

if TYPE_CHECKING:
    from django.contrib.admin.filters import _ListFilterChoices

SEARCH_HELP_TEXT = (
    "Paste a request id or an API key's prefix (the part before the dot), or type a client's or a "
    "provider's slug; failing those, part of a client's name. Ids and slugs are matched whole; "
    "the rows' own text is not searched."
)
REQUEST_ID_MATCHES = 100  # a request id names one call; a few rows at most (its reversal)


@dataclass(frozen=True)
class LedgerSearch:
    """What a search term names, as ids the ledger's indexes serve."""

    entry_ids: tuple[int, ...]
    client_ids: tuple[int, ...]
    key_ids: tuple[str, ...]
    provider: str | None

    def condition(self) -> Q | None:
        parts = [
            Q(pk__in=self.entry_ids) if self.entry_ids else None,
            Q(client_id__in=self.client_ids) if self.client_ids else None,
            Q(api_key_id__in=self.key_ids) if self.key_ids else None,
            Q(provider=self.provider) if self.provider else None,
        ]
        found = [part for part in parts if part is not None]
        if not found:
            return None
        condition = found[0]
        for part in found[1:]:
            condition |= part
        return condition


def ledger_search_resolve(term: str) -> LedgerSearch:
    """Look the term up as a request id, an API key, a client's or a provider's slug; failing
    those, as part of clients' names. Whole matches win, so that "ecb" means the provider and
    not also every client with "ecb" in its name: one condition on one index, not an OR whose
    rows must all be read and sorted."""
    slug = term.lower()
    prefix = term.partition(".")[0]  # a whole key is "<prefix>.<secret>"
    clients = list(
        Client.objects.filter(Q(slug=slug) | Q(name__icontains=term)).values_list("pk", "slug")
    )
    whole = LedgerSearch(
        entry_ids=tuple(
            LedgerEntry.objects.filter(request_id=term)
            .order_by()
            .values_list("pk", flat=True)[:REQUEST_ID_MATCHES]
        ),
        client_ids=tuple(pk for pk, client_slug in clients if client_slug == slug),
        key_ids=tuple(ClientApiKey.objects.filter(prefix=prefix).values_list("pk", flat=True)),
        provider=Provider.objects.filter(slug=slug).values_list("slug", flat=True).first(),
    )
    if whole.condition() is not None:
        return whole
    return replace(whole, client_ids=tuple(pk for pk, _ in clients))


def ledger_search(queryset: QuerySet[LedgerEntry], search_term: str) -> QuerySet[LedgerEntry]:
    # Quotes or stray whitespace around a pasted id are ignored.
    term = search_term.strip().strip("\"'").strip()
    if not term:
        return queryset
    condition = ledger_search_resolve(term).condition()
    return queryset.none() if condition is None else queryset.filter(condition)


class ClientFilter(admin.SimpleListFilter):
    """A box for a client's slug, not a list of every client: there may be thousands."""

    title = "client"
    parameter_name = "client"
    template = "admin/ledger/input_filter.html"

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        # The box's form keeps the other filters and the search (not the page) when sent.
        self.kept_params = [
            (name, value)
            for name, value in request.GET.items()
            if name not in {self.parameter_name, PAGE_VAR, ERROR_FLAG}
        ]

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: ChangeList) -> Iterator[_ListFilterChoices]:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "All",
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        slug = (self.value() or "").strip().lower()
        if not slug:
            return queryset
        client_id = Client.objects.filter(slug=slug).values_list("pk", flat=True).first()
        return queryset.none() if client_id is None else queryset.filter(client_id=client_id)


class ServiceFilter(admin.SimpleListFilter):
    """Choices come from the catalog, not from a DISTINCT over the whole ledger."""

    title = "service"
    parameter_name = "service"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(Service.objects.order_by("slug").values_list("slug", "slug"))

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(service=self.value()) if self.value() else queryset


class ProviderFilter(admin.SimpleListFilter):
    title = "provider"
    parameter_name = "provider"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("-", "none (no provider served)"),
            *Provider.objects.order_by("slug").values_list("slug", "slug"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(provider="" if value == "-" else value)
