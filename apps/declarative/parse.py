"""Turn the YAML text into a ConfigDocument, or list every problem with its line.

This step checks the shape of the file and everything the code registry knows (adapters,
methods, strategies, which methods are cacheable, which credentials an adapter takes). What
only the database knows (providers and plans defined elsewhere) is checked in `apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from apps.accounts.models import Client
from apps.billing.models import Plan
from apps.catalog.models import Offering, OfferingCountryCost, Provider, RoutingPolicy
from apps.catalog.registry import Registry, registry
from apps.declarative.document import (
    ClientEntry,
    ConfigDocument,
    ConfigInvalid,
    ConfigIssue,
    OfferingEntry,
    RoutingEntry,
)
from apps.declarative.plans import PlanReader
from apps.declarative.provider_reader import ProviderReader
from apps.declarative.reader import kind_of
from apps.declarative.yaml_lines import LineDict, LineList, YamlProblem
from apps.declarative.yaml_lines import yaml_load_with_lines as _load
from apps.routing.strategies import strategies

SECTIONS = ("providers", "offerings", "routing", "plans", "clients")

T = TypeVar("T")


def config_parse(*, text: str, source: str, code: Registry = registry) -> ConfigDocument:
    """Parse and check one configuration file; raise ConfigInvalid listing every problem."""
    try:
        root = _load(text)
    except YamlProblem as problem:
        raise ConfigInvalid(source, [ConfigIssue(problem.line, "", problem.message)]) from None
    return _Parser(source, code).document(root)


class _Parser(ProviderReader, PlanReader):  # entries are read by the readers' modules
    """Reads each section into entries; every problem is noted, then all are raised at once."""

    # -- the file --------------------------------------------------------------------------

    def document(self, root: Any) -> ConfigDocument:
        if root is None:
            return ConfigDocument(source=self.source)
        top = self.mapping(root, "", 1, required=(), optional=SECTIONS)
        if top is None:
            raise ConfigInvalid(self.source, self.issues)
        document = ConfigDocument(
            source=self.source,
            providers=tuple(self.each(top, "providers", self.provider)),
            offerings=tuple(self.each(top, "offerings", self.offering)),
            routing=tuple(self.routing(top)),
            plans=tuple(self.each(top, "plans", self.plan)),
            clients=tuple(self.each(top, "clients", self.client)),
            sections=frozenset(top),
        )
        self.unique(document.providers, ("slug",), "provider")
        self.unique(document.offerings, ("provider", "method"), "offering")
        self.unique(document.plans, ("slug",), "plan")
        self.unique(document.clients, ("slug",), "client")
        if self.issues:
            raise ConfigInvalid(self.source, self.issues)
        return document

    def each(
        self, top: LineDict, section: str, read: Callable[[LineDict, str], T | None]
    ) -> list[T]:
        items = top.get(section)
        if section not in top or items is None:
            return []
        if not isinstance(items, LineList):
            self.problem(top.line_of(section), section, f"expected a list, got {kind_of(items)}")
            return []
        entries = []
        for index, item in enumerate(items):
            path = f"{section}[{index}]"
            if not isinstance(item, LineDict):
                self.problem(items.line_of(index), path, f"expected a mapping, got {kind_of(item)}")
                continue
            entry = read(item, path)
            if entry is not None:
                entries.append(entry)
        return entries

    def unique(self, entries: Sequence[Any], fields: tuple[str, ...], what: str) -> None:
        first_line: dict[tuple[str, ...], int] = {}
        for entry in entries:
            value = tuple(getattr(entry, name) for name in fields)
            if value in first_line:
                shown = " / ".join(value)
                self.problem(
                    entry.line,
                    entry.path,
                    f"{what} {shown!r} is already defined on line {first_line[value]}",
                )
            else:
                first_line[value] = entry.line

    # -- entries ---------------------------------------------------------------------------

    def offering(self, item: LineDict, path: str) -> OfferingEntry | None:
        known_issues = len(self.issues)
        entry = self.mapping(
            item,
            path,
            item.line,
            required=("provider", "method", "cost"),
            optional=("enabled", "priority", "weight", "cost_by_country"),
        )
        if entry is None:
            return None
        values: dict[str, Any] = {
            "provider": self.text(entry, "provider", path, Provider, field_name="slug"),
            "method": self.method_key(entry, "method", path),
            "enabled": self.boolean(entry, "enabled", path, default=True),
            "priority": self.integer(entry, "priority", path, Offering, default=100),
            "weight": self.integer(entry, "weight", path, Offering, default=1),
            "cost": self.money(entry, "cost", path, Offering),
            "cost_by_country": self.keyed(
                entry,
                "cost_by_country",
                path,
                self.country,
                self.money_value(OfferingCountryCost),
            ),
        }
        return self.build(OfferingEntry, entry, path, values, known_issues)

    def routing(self, top: LineDict) -> list[RoutingEntry]:
        section = top.get("routing")
        if section is None:
            return []
        if not isinstance(section, LineDict):
            self.problem(
                top.line_of("routing"), "routing", f"expected a mapping, got {kind_of(section)}"
            )
            return []
        entries = []
        for method_key, policy in section.items():
            known_issues = len(self.issues)
            path = f"routing[{method_key}]"
            line = section.line_of(method_key)
            spec = self.code.method(method_key)
            if spec is None:
                self.problem(line, "routing", self.unknown_method(method_key))
            entry = self.mapping(
                policy,
                path,
                line,
                required=(),
                optional=("strategy", "failover", "max_attempts", "deadline_ms", "cache_ttl_s"),
            )
            if entry is None or spec is None:
                continue
            strategy = self.text(entry, "strategy", path, default="priority")
            if strategy is not None and strategy not in strategies:
                self.problem(
                    entry.line_of("strategy"),
                    f"{path}.strategy",
                    f"unknown strategy {strategy!r}; choose one of {', '.join(sorted(strategies))}",
                )
            cache_ttl_s = self.integer(entry, "cache_ttl_s", path, RoutingPolicy, default=None)
            if cache_ttl_s is not None and not spec.cacheable:
                self.problem(
                    entry.line_of("cache_ttl_s"),
                    f"{path}.cache_ttl_s",
                    f"{method_key} is not cacheable; remove cache_ttl_s",
                )
            values: dict[str, Any] = {
                "method": method_key,
                "strategy": strategy,
                "failover": self.boolean(entry, "failover", path, default=True),
                "max_attempts": self.integer(entry, "max_attempts", path, RoutingPolicy, default=3),
                "deadline_ms": self.integer(
                    entry, "deadline_ms", path, RoutingPolicy, default=10_000
                ),
                "cache_ttl_s": cache_ttl_s,
            }
            routing_entry = self.build(RoutingEntry, entry, path, values, known_issues)
            if routing_entry is not None:
                entries.append(routing_entry)
        return entries

    def client(self, item: LineDict, path: str) -> ClientEntry | None:
        known_issues = len(self.issues)
        entry = self.mapping(
            item,
            path,
            item.line,
            required=("slug", "name", "country", "plan", "credit_limit"),
            optional=("active",),
        )
        if entry is None:
            return None
        country = self.text(entry, "country", path)
        values: dict[str, Any] = {
            "slug": self.text(entry, "slug", path, Client),
            "name": self.text(entry, "name", path, Client),
            "country": country
            and self.country(country, entry.line_of("country"), f"{path}.country"),
            "plan": self.text(entry, "plan", path, Plan, field_name="slug"),
            "credit_limit": self.money(entry, "credit_limit", path, Client),
            "active": self.boolean(entry, "active", path, default=True),
        }
        return self.build(ClientEntry, entry, path, values, known_issues)
