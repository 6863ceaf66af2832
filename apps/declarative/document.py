"""The parsed configuration file: one small dataclass per kind of entry.

Every entry keeps the line it starts on and the line of each of its keys, so checks made
later (against the database) can still name the line. Values are already typed: money is
Decimal, countries are upper-case ISO codes, method references are "service.method" keys.

Optional keys that are absent take the documented default, so an entry says the whole state
of its row; the exceptions are `name` (absent: left as it is, or derived on create) and
`credentials` (absent: the stored secrets are kept, so a dump without secrets re-applies).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

# A provider's `breaker:` keys and the Provider fields they set.
BREAKER_KEYS = {
    "failures": "breaker_failures",
    "fault_rate": "breaker_fault_rate",
    "window_s": "breaker_window_s",
    "min_calls": "breaker_min_calls",
    "cooldown_s": "breaker_cooldown_s",
}


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in the file; `path` locates the entry, e.g. "offerings[2].method"."""

    line: int
    path: str
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigInvalid(Exception):
    """The file cannot be applied; nothing was changed."""

    def __init__(self, source: str, issues: list[ConfigIssue]) -> None:
        self.source = source
        self.issues = sorted(issues, key=lambda issue: issue.line)
        super().__init__("\n".join(issue.render(source) for issue in self.issues))


@dataclass(frozen=True)
class Located:
    line: int
    key_lines: Mapping[str, int] = field(compare=False, repr=False)
    path: str  # where the entry is in the file, e.g. "offerings[2]"

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class ProviderEntry(Located):
    slug: str
    adapter: str
    base_url: str
    timeout_ms: int
    enabled: bool
    name: str | None  # None: keep the stored name (the adapter's display name on create)
    credentials: Mapping[str, str] | None  # None: keep the stored credentials
    # Circuit breaker thresholds by model field (breaker_failures...); absent keys: defaults.
    breaker: Mapping[str, int] = field(default_factory=dict)
    # Ops' narrowing of the adapter's countries, sorted; () = every country the adapter serves.
    countries: tuple[str, ...] = ()


@dataclass(frozen=True)
class OfferingEntry(Located):
    provider: str
    method: str
    enabled: bool
    priority: int
    weight: int
    cost: Decimal
    cost_by_country: Mapping[str, Decimal]  # the whole set: countries not listed are removed


@dataclass(frozen=True)
class RoutingEntry(Located):
    method: str
    strategy: str
    failover: bool
    max_attempts: int
    deadline_ms: int
    cache_ttl_s: int | None


@dataclass(frozen=True)
class PlanEntry(Located):
    slug: str
    name: str | None  # None: keep the stored name (the slug on create)
    charge_failed_calls: bool
    prices: Mapping[str, Decimal]  # the whole set: methods not listed lose their price
    # The whole sets too: absent means no free calls, no country prices, no rate limits.
    free_calls: Mapping[str, int] = field(default_factory=dict)  # method -> calls a month
    prices_by_country: Mapping[str, Mapping[str, Decimal]] = field(default_factory=dict)
    rate_limits: Mapping[str, tuple[int, str]] = field(default_factory=dict)  # (limit, window)


@dataclass(frozen=True)
class ClientEntry(Located):
    slug: str
    name: str
    country: str
    plan: str
    credit_limit: Decimal
    active: bool


@dataclass(frozen=True)
class ConfigDocument:
    """A whole file, checked for shape and against the code registry (not yet the database)."""

    source: str
    providers: tuple[ProviderEntry, ...] = ()
    offerings: tuple[OfferingEntry, ...] = ()
    routing: tuple[RoutingEntry, ...] = ()
    plans: tuple[PlanEntry, ...] = ()
    clients: tuple[ClientEntry, ...] = ()
    # The sections the file has, even empty ones: only those are pruned (gateway_apply --prune).
    sections: frozenset[str] = frozenset()
