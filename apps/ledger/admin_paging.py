"""The ledger admin's paging: no COUNT(*) of the whole ledger, no deep OFFSET, one order.

Django's paginator counts every matching row to number the pages, which on a ledger of tens
of millions of rows reads the whole table (or the whole of a big client's rows) on every page.
Here the count stops at EXACT_UP_TO rows: a COUNT over a LIMITed subquery, a few milliseconds
on any plan. Past that the list says "about N", N being PostgreSQL's row estimate for the same
query (EXPLAIN, which also sums partitions), and pages through the newest MAX_PAGES pages only;
filters and search narrow it further. Other databases (SQLite in development) say "at least
EXACT_UP_TO + 1" instead of an estimate.
"""

from __future__ import annotations

import json
from math import ceil
from typing import Any, cast

from django.contrib.admin.views.main import ChangeList
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.functional import cached_property

EXACT_UP_TO = 10_000


def planner_estimate(queryset: QuerySet[Any]) -> int | None:
    """The planner's row estimate for the queryset, without running it (PostgreSQL only)."""
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = json.loads(queryset.explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """Counts exactly up to EXACT_UP_TO rows, estimates beyond, and serves at most
    max_pages pages, so that no page asks for an OFFSET deeper than EXACT_UP_TO rows."""

    estimated = False  # set when `count` is the planner's estimate, not a count
    at_least = False  # set when `count` is EXACT_UP_TO + 1 and there is no estimate (SQLite)

    @cached_property
    def count(self) -> int:
        rows = cast(QuerySet[Any], self.object_list).order_by().values("pk")
        counted = int(rows[: EXACT_UP_TO + 1].count())
        if counted <= EXACT_UP_TO:
            return counted
        estimate = planner_estimate(rows)
        if estimate is None:
            self.at_least = True
            return counted
        self.estimated = True
        return max(estimate, counted)

    @cached_property
    def max_pages(self) -> int:
        return max(1, EXACT_UP_TO // int(self.per_page))

    @cached_property
    def num_pages(self) -> int:
        return min(ceil(max(1, self.count - self.orphans) / int(self.per_page)), self.max_pages)

    @property
    def truncated(self) -> bool:
        """More rows match than the pages reach."""
        return self.count > self.max_pages * int(self.per_page)


class NewestFirstChangeList(ChangeList):
    """Always the model's order (newest first, the order the ledger's indexes keep): an `o`
    parameter in a hand-made URL would otherwise sort all the matching rows by, say, price."""

    def get_ordering(self, request: HttpRequest, queryset: QuerySet[Any]) -> list[Any]:
        return list(self.lookup_opts.ordering or ["-pk"])
