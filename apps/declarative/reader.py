"""The typed readers the parser is built from: each reads one value and notes any problem.

A reader returns the value, or None after recording a ConfigIssue with the line and path; the
parser carries on so that one run reports every problem in the file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apps.catalog.countries import country_code_problem, not_served_problem
from apps.catalog.providers import ProviderAdapter
from apps.catalog.registry import Registry
from apps.declarative.document import ConfigIssue
from apps.declarative.yaml_lines import LineDict, LineList

_MISSING: Any = object()


class Reader:
    """Reads typed values out of LineDicts for one file, collecting its ConfigIssues."""

    def __init__(self, source: str, code: Registry) -> None:
        self.source = source
        self.code = code
        self.issues: list[ConfigIssue] = []

    def problem(self, line: int, path: str, message: str) -> None:
        self.issues.append(ConfigIssue(line, path, message))

    # -- shapes ----------------------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        path: str,
        line: int,
        *,
        required: Sequence[str],
        optional: Sequence[str],
    ) -> LineDict | None:
        if not isinstance(value, LineDict):
            self.problem(line, path, f"expected a mapping, got {kind_of(value)}")
            return None
        allowed = (*required, *optional)
        for key in value:
            if key not in allowed:
                self.problem(
                    value.line_of(key),
                    path,
                    f"unknown key {key!r} (allowed: {', '.join(allowed)})",
                )
        for key in required:
            if key not in value:
                self.problem(value.line, path, f"missing required key {key!r}")
        return value

    def keyed(
        self,
        entry: LineDict,
        key: str,
        path: str,
        read_key: Callable[[str, int, str], str | None],
        read_value: Callable[[Any, int, str], Decimal | None],
    ) -> dict[str, Decimal]:
        """A mapping like `prices` or `cost_by_country` (wrong items are reported, left out)."""
        value = entry.get(key)
        if value is None:  # absent or empty: no entries (a missing `prices` is reported apart)
            return {}
        where = f"{path}.{key}"
        if not isinstance(value, LineDict):
            self.problem(entry.line_of(key), where, f"expected a mapping, got {kind_of(value)}")
            return {}
        result: dict[str, Decimal] = {}
        for item_key, item_value in value.items():
            line = value.line_of(item_key)
            item_path = f"{where}[{item_key}]"
            parsed_key = read_key(item_key, line, item_path)
            amount = read_value(item_value, line, item_path)
            if parsed_key is not None and amount is not None:
                result[parsed_key] = amount
        return result

    # -- scalars ---------------------------------------------------------------------------

    def text(
        self,
        entry: LineDict,
        key: str,
        path: str,
        model: type[models.Model] | None = None,
        *,
        default: Any = _MISSING,
        field_name: str | None = None,
    ) -> Any:
        if key not in entry:
            return default if default is not _MISSING else None
        value, line, where = entry[key], entry.line_of(key), f"{path}.{key}"
        if not isinstance(value, str) or not value.strip():
            self.problem(line, where, f"expected text, got {kind_of(value)}")
            return None
        return self.model_field(model, field_name or key, value, line, where) if model else value

    def integer(
        self,
        entry: LineDict,
        key: str,
        path: str,
        model: type[models.Model],
        *,
        default: int | None,
    ) -> Any:
        if key not in entry or (default is None and entry[key] is None):
            return default
        value, line, where = entry[key], entry.line_of(key), f"{path}.{key}"
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(line, where, f"expected a whole number, got {kind_of(value)}")
            return None
        return self.model_field(model, key, value, line, where)

    def boolean(self, entry: LineDict, key: str, path: str, *, default: bool) -> bool | None:
        if key not in entry:
            return default
        value = entry[key]
        if not isinstance(value, bool):
            self.problem(
                entry.line_of(key), f"{path}.{key}", f"expected true or false, got {kind_of(value)}"
            )
            return None
        return value

    def money(self, entry: LineDict, key: str, path: str, model: type[models.Model]) -> Any:
        if key not in entry:
            return None
        return self.money_value(model, key)(entry[key], entry.line_of(key), f"{path}.{key}")

    def money_value(
        self, model: type[models.Model], field_name: str = "cost"
    ) -> Callable[[Any, int, str], Decimal | None]:
        def read(value: Any, line: int, where: str) -> Decimal | None:
            if isinstance(value, float | int) and not isinstance(value, bool):
                self.problem(
                    line,
                    where,
                    "money must be a quoted decimal string, not a number: "
                    f'write "{Decimal(str(value)):f}" '
                    "(a YAML number is a float and may not hold the exact amount)",
                )
                return None
            if not isinstance(value, str):
                self.problem(line, where, f"expected a quoted decimal string, got {kind_of(value)}")
                return None
            amount = self.model_field(model, field_name, value.strip(), line, where)
            return amount if isinstance(amount, Decimal) else None

        return read

    def model_field(
        self, model: type[models.Model], name: str, value: Any, line: int, where: str
    ) -> Any:
        """The model field's own conversion and validators (lengths, ranges, slug rules)."""
        model_field = model._meta.get_field(name)
        try:
            return model_field.clean(value, None)  # type: ignore[union-attr]
        except ValidationError as exc:
            self.problem(line, where, " ".join(exc.messages))
            return None

    def country(self, code: str, line: int, where: str) -> str | None:
        problem = country_code_problem(code)
        if problem is None:
            return code
        self.problem(line, where, problem)
        return None

    def country_list(
        self, entry: LineDict, key: str, path: str, adapter: type[ProviderAdapter] | None
    ) -> tuple[str, ...]:
        """A provider's `countries: [US, CA]`: ISO codes its adapter serves, sorted, once each."""
        value, line, where = entry.get(key), entry.line_of(key), f"{path}.{key}"
        if value is None:  # absent or empty: the adapter's own list
            return ()
        if not isinstance(value, LineList):
            self.problem(line, where, f"expected a list like [US, CA], got {kind_of(value)}")
            return ()
        codes = {
            code
            for index, item in enumerate(value)
            if (code := self.country(item, value.line_of(index), f"{where}[{index}]"))
        }
        not_served = not_served_problem(codes, adapter) if adapter else None
        if not_served:
            self.problem(line, where, not_served)
        return tuple(sorted(codes))

    def method_key(self, entry: LineDict, key: str, path: str) -> str | None:
        value = self.text(entry, key, path)
        if value is None:
            return None
        return self.method_name(value, entry.line_of(key), f"{path}.{key}")

    def method_name(self, value: str, line: int, where: str) -> str | None:
        if self.code.method(value) is None:
            self.problem(line, where, self.unknown_method(value))
            return None
        return value

    def unknown_method(self, key: str) -> str:
        known = ", ".join(m.key for m in self.code.all_methods())
        return f"unknown method {key!r} (known: {known})"


def kind_of(value: Any) -> str:
    """How a wrong value is shown in a message."""
    if value is None:
        return "nothing"
    if isinstance(value, LineDict):
        return "a mapping"
    if isinstance(value, LineList):
        return "a list"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, str):
        return f"{value!r}"
    return f"{value!r} ({type(value).__name__})"
