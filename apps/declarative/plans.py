"""The `plans` section: prices, per-country prices, monthly free calls and rate limits.

    plans:
      - slug: standard
        prices: {currency.latest_rates: "0.0100", currency.convert: "0.0050"}
        prices_by_country:                     # requester's country -> method -> price
          DE: {currency.latest_rates: "0.0080"}
        free_calls: {currency.latest_rates: 1000}    # per client, per calendar month
        rate_limits:                           # total, a service or a method: N/unit
          total: 5000/hour
          currency: 100/minute

Every one of these sets is given whole: what the file leaves out is removed from the plan
(a plan without `rate_limits` is unlimited). A method in `prices_by_country` or `free_calls`
must be priced in the same plan's `prices`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from apps.billing.models import (
    WINDOW_SECONDS,
    CountryPrice,
    Plan,
    PlanRateLimit,
    Price,
    rate_limit_scope_error,
)
from apps.catalog.models import Method
from apps.declarative.document import PlanEntry
from apps.declarative.reader import Reader, kind_of
from apps.declarative.rows import full_clean_or_raise, row_save, rows_replace
from apps.declarative.yaml_lines import LineDict
from apps.declarative.yaml_text import flow, scalar

PLAN_KEYS = ("name", "charge_failed_calls", "prices_by_country", "free_calls", "rate_limits")
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")


class PlanReader(Reader):
    """Reads one entry of `plans`."""

    def plan(self, item: LineDict, path: str) -> PlanEntry | None:
        known_issues = len(self.issues)
        entry = self.mapping(item, path, item.line, required=("slug", "prices"), optional=PLAN_KEYS)
        if entry is None:
            return None
        prices = self.keyed(
            entry, "prices", path, self.method_name, self.money_value(Price, "price")
        )
        values: dict[str, Any] = {
            "slug": self.text(entry, "slug", path, Plan),
            "name": self.text(entry, "name", path, Plan, default=None),
            "charge_failed_calls": self.boolean(entry, "charge_failed_calls", path, default=False),
            "prices": prices,
            "prices_by_country": self.prices_by_country(entry, path, prices),
            "free_calls": self.free_calls(entry, path, prices),
            "rate_limits": self.rate_limits(entry, path),
        }
        if len(self.issues) > known_issues:
            return None
        return PlanEntry(line=entry.line, key_lines=entry.key_lines, path=path, **values)

    def _section(self, entry: LineDict, key: str, path: str) -> LineDict | None:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, LineDict):
            self.problem(
                entry.line_of(key), f"{path}.{key}", f"expected a mapping, got {kind_of(value)}"
            )
            return None
        return value

    def _priced(self, method: str, prices: Mapping[str, Decimal], line: int, where: str) -> bool:
        if self.method_name(method, line, where) is None:
            return False
        if method not in prices:
            self.problem(line, where, f"{method} has no price in this plan's `prices`")
            return False
        return True

    def prices_by_country(
        self, entry: LineDict, path: str, prices: Mapping[str, Decimal]
    ) -> dict[str, dict[str, Decimal]]:
        section = self._section(entry, "prices_by_country", path)
        result: dict[str, dict[str, Decimal]] = {}
        for country, by_method in (section or {}).items():
            where = f"{path}.prices_by_country[{country}]"
            assert section is not None
            line = section.line_of(country)
            code = self.country(country, line, where)
            if not isinstance(by_method, LineDict):
                self.problem(
                    line,
                    where,
                    f"expected a mapping of methods to prices, got {kind_of(by_method)}",
                )
                continue
            read_price = self.money_value(CountryPrice, "price")
            for method, value in by_method.items():
                item_line, item_where = by_method.line_of(method), f"{where}[{method}]"
                amount = read_price(value, item_line, item_where)
                priced = self._priced(method, prices, item_line, item_where)
                if priced and amount is not None and code is not None:
                    result.setdefault(code, {})[method] = amount
        return result

    def free_calls(
        self, entry: LineDict, path: str, prices: Mapping[str, Decimal]
    ) -> dict[str, int]:
        section = self._section(entry, "free_calls", path)
        result: dict[str, int] = {}
        for method, value in (section or {}).items():
            assert section is not None
            line, where = section.line_of(method), f"{path}.free_calls[{method}]"
            priced = self._priced(method, prices, line, where)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.problem(line, where, f"expected a whole number of calls, got {kind_of(value)}")
            elif priced:
                result[method] = value
        return result

    def rate_limits(self, entry: LineDict, path: str) -> dict[str, tuple[int, str]]:
        section = self._section(entry, "rate_limits", path)
        result: dict[str, tuple[int, str]] = {}
        for scope, value in (section or {}).items():
            assert section is not None
            line, where = section.line_of(scope), f"{path}.rate_limits[{scope}]"
            error = rate_limit_scope_error(str(scope))
            if error:
                self.problem(line, where, error)
            match = _RATE.match(value) if isinstance(value, str) else None
            if match is None or int(match[1]) < 1 or match[2] not in WINDOW_SECONDS:
                self.problem(
                    line,
                    where,
                    f"expected calls per window, e.g. 100/minute (windows: "
                    f"{', '.join(WINDOW_SECONDS)}), got {kind_of(value)}",
                )
            elif not error:
                result[str(scope)] = (int(match[1]), match[2])
        return result


class PlanApplier:
    """Writes the `plans` section; rows are saved only when something differs."""

    def __init__(self, methods: Mapping[str, Method]) -> None:
        self.methods = methods

    def apply(self, plan: Plan, entry: PlanEntry, current: Mapping[str, Price]) -> bool:
        """Make the plan's prices, country prices, free calls and limits match. True if any
        row changed."""
        changed = rows_replace(
            current,
            entry.prices,
            make=lambda key, price: Price(plan=plan, method=self.methods[key], price=price),
            amount_field="price",
            entry=entry,
        )
        stored = plan.prices.select_related("method__service").prefetch_related("country_prices")
        for price in stored:
            key = price.method.key
            changed |= row_save(price, {"free_calls": entry.free_calls.get(key, 0)}, entry)[1]
            countries = {
                country: by_method[key]
                for country, by_method in entry.prices_by_country.items()
                if key in by_method
            }
            changed |= rows_replace(
                {c.country: c for c in price.country_prices.all()},
                countries,
                make=_country_price_maker(price),
                amount_field="price",
                entry=entry,
            )
        return self._replace_limits(plan, entry) or changed

    def _replace_limits(self, plan: Plan, entry: PlanEntry) -> bool:
        changed = False
        current = {limit.scope: limit for limit in plan.rate_limits.all()}
        for scope, stale in current.items():
            if scope not in entry.rate_limits:
                stale.delete()
                changed = True
        for scope, (limit, window) in entry.rate_limits.items():
            row = current.get(scope)
            if row is None:
                row = PlanRateLimit(plan=plan, scope=scope, limit=limit, window=window)
                full_clean_or_raise(row, entry)
                row.save()
                changed = True
            elif (row.limit, row.window) != (limit, window):
                changed |= row_save(row, {"limit": limit, "window": window}, entry)[1]
        return changed


def _country_price_maker(base: Price) -> Callable[[str, Decimal], CountryPrice]:
    return lambda country, amount: CountryPrice(base=base, country=country, price=amount)


def plan_dump(plan: Plan) -> list[str]:
    """The plan's optional keys in the file's format (prices are written by the caller)."""
    lines: list[str] = []
    prices = sorted(plan.prices.all(), key=lambda p: p.method.key)
    by_country: dict[str, dict[str, Decimal]] = {}
    for price in prices:
        for country_price in price.country_prices.all():
            by_country.setdefault(country_price.country, {})[price.method.key] = country_price.price
    if by_country:
        lines.append("prices_by_country:")
        lines += [f"  {country}: {flow(by_country[country])}" for country in sorted(by_country)]
    free = {p.method.key: p.free_calls for p in prices if p.free_calls}
    if free:
        lines.append(f"free_calls: {flow(free)}")
    limits = sorted(plan.rate_limits.all(), key=lambda limit: limit.scope)
    if limits:
        lines.append("rate_limits:")
        lines += [f"  {scalar(limit.scope)}: {limit.limit}/{limit.window}" for limit in limits]
    return lines
