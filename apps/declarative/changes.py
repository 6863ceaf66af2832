"""One change that applying a file would make (or did), rendered for people: secrets masked.

update provider sandbox
    timeout_ms: 500 -> 800
    credentials[access_key]: **** -> **** (changed)
disable provider fixer: not in the file
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.core.money import money_str

MASK = "****"
ABSENT = "(none)"
# The kind of entry, as one row of it is called.
ROW_NAMES = {
    "providers": "provider",
    "offerings": "offering",
    "routing": "routing policy",
    "plans": "plan",
    "clients": "client",
}
ACTIONS = ("create", "update", "disable", "reset", "delete", "keep")


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: str  # already rendered: a secret is never held here in clear
    new: str


@dataclass(frozen=True)
class Change:
    kind: str  # a section of the file: "providers", "offerings", ...
    key: str  # the row's natural key: "sandbox", "sandbox currency.latest_rates"
    action: str  # one of ACTIONS; "keep" is a row prune leaves alone (no drift)
    fields: tuple[FieldChange, ...] = ()
    note: str = ""

    @property
    def drift(self) -> bool:
        return self.action != "keep"

    def lines(self) -> list[str]:
        head = f"{self.action} {ROW_NAMES[self.kind]} {self.key}"
        return [
            f"{head}: {self.note}" if self.note else head,
            *(f"    {f.name}: {f.old} -> {f.new}" for f in self.fields),
        ]


@dataclass(frozen=True)
class ConfigDiff:
    """What applying a file would change in the database, in the file's order."""

    source: str
    changes: tuple[Change, ...]

    @property
    def drifted(self) -> bool:
        return any(change.drift for change in self.changes)

    def lines(self) -> list[str]:
        lines = [line for change in self.changes for line in change.lines()]
        counts = {a: sum(c.action == a for c in self.changes) for a in ACTIONS}
        if not self.drifted:
            lines.append(f"no changes: the database matches {self.source}")
        else:
            lines.append(", ".join(f"{n} to {a}" for a, n in counts.items() if n and a != "keep"))
        return lines


def field_changes(name: str, old: Any, new: Any) -> list[FieldChange]:
    """The changes from `old` to `new` (None: absent); a mapping is compared key by key."""
    if isinstance(old, Mapping) or isinstance(new, Mapping):
        old_map, new_map = old or {}, new or {}
        changes: list[FieldChange] = []
        for key in sorted(set(old_map) | set(new_map), key=str):
            changes += field_changes(f"{name}[{key}]", old_map.get(key), new_map.get(key))
        return changes
    if old == new:
        return []
    return [FieldChange(name, render(old), render(new))]


def secret_changes(old: Mapping[str, str] | None, new: Mapping[str, str]) -> list[FieldChange]:
    """Credentials, key by key, with every value masked; `old` None: unreadable."""
    if old is None:
        return [FieldChange("credentials", "(unreadable)", MASK if new else ABSENT)]
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            changes.append(FieldChange(f"credentials[{key}]", MASK, ABSENT))
        elif key not in old:
            changes.append(FieldChange(f"credentials[{key}]", ABSENT, MASK))
        elif old[key] != new[key]:
            changes.append(FieldChange(f"credentials[{key}]", MASK, f"{MASK} (changed)"))
    return changes


def render(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], int):
        return f"{value[0]}/{value[1]}"  # a rate limit: (limit, window)
    if isinstance(value, tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)
