"""Saving one row of a file entry: only when something differs, after the model's checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from apps.core.fields import UnreadableSecrets
from apps.declarative.document import ConfigIssue, Located


def row_save(
    instance: models.Model, wanted: Mapping[str, Any], entry: Located
) -> tuple[bool, bool]:
    """Create, or save only the fields that differ. Returns (created, changed)."""
    created = instance.pk is None
    changed = [
        name for name, value in wanted.items() if created or differs(getattr(instance, name), value)
    ]
    if not created and not changed:
        return False, False
    for name in changed:
        setattr(instance, name, wanted[name])
    full_clean_or_raise(instance, entry)
    if created:
        instance.save()
    else:
        timestamps = ["updated_at"] if hasattr(instance, "updated_at") else []
        instance.save(update_fields=[*changed, *timestamps])
    return created, True


def rows_replace(
    current: Mapping[str, models.Model],
    wanted: Mapping[str, Decimal],
    *,
    make: Callable[[str, Decimal], models.Model],
    amount_field: str,
    entry: Located,
) -> bool:
    """Make the rows keyed by `current` match `wanted` (key -> amount). True if any changed."""
    changed = False
    for key, stale in current.items():
        if key not in wanted:
            stale.delete()
            changed = True
    for key, amount in wanted.items():
        row = current.get(key)
        if row is None:
            new = make(key, amount)
            full_clean_or_raise(new, entry)
            new.save()
            changed = True
        elif getattr(row, amount_field) != amount:
            setattr(row, amount_field, amount)
            full_clean_or_raise(row, entry)
            row.save(update_fields=[amount_field])
            changed = True
    return changed


def differs(current: Any, value: Any) -> bool:
    # Secrets nobody can decrypt are replaced whenever the file gives credentials.
    return isinstance(current, UnreadableSecrets) or current != value


class RowInvalid(Exception):
    def __init__(self, issue: ConfigIssue) -> None:
        self.issue = issue
        super().__init__(issue.message)


def full_clean_or_raise(instance: models.Model, entry: Located) -> None:
    """The model's own rules, as a last line of defence; parse has checked them already."""
    try:
        instance.full_clean()
    except ValidationError as exc:
        raise RowInvalid(ConfigIssue(entry.line, entry.path, "; ".join(exc.messages))) from exc
