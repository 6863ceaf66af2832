"""`gateway_apply --diff` and `--check`: what applying a file would change, changing nothing.

The database is read as a document (apps.declarative.stored) and compared entry by
entry with the file, by the same rules apply follows: a `name` or `credentials` the file
leaves out is kept, so it is no difference; every other key, and every set given whole
(prices, country costs, rate limits...), is. Secrets are compared but never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from typing import Any

from apps.catalog.credential_scope import credentials_scope, has_secrets
from apps.catalog.models import Provider
from apps.catalog.registry import Registry, registry
from apps.core.fields import UnreadableSecrets
from apps.declarative.changes import (
    MASK,
    Change,
    ConfigDiff,
    FieldChange,
    field_changes,
    secret_changes,
)
from apps.declarative.document import BREAKER_KEYS, ConfigDocument, ConfigInvalid, Located
from apps.declarative.prune import prune_steps
from apps.declarative.references import references_check
from apps.declarative.stored import stored_document

# How each kind's rows are matched between the file and the database.
NATURAL_KEYS: dict[str, Callable[[Any], str]] = {
    "providers": lambda e: e.slug,
    "offerings": lambda e: f"{e.provider} {e.method}",
    "routing": lambda e: e.method,
    "plans": lambda e: e.slug,
    "clients": lambda e: e.slug,
}
# Not compared as values: where the entry is, its key, and the secrets (compared apart).
_NOT_VALUES = {"line", "key_lines", "path", "slug", "provider", "method", "credentials"}
_BREAKER_NAMES = {field: key for key, field in BREAKER_KEYS.items()}


def config_diff(
    *, document: ConfigDocument, prune: bool = False, code: Registry = registry
) -> ConfigDiff:
    """What config_apply(document=..., prune=...) would change; raise ConfigInvalid as it would."""
    issues = references_check(document, code)
    if issues:
        raise ConfigInvalid(document.source, issues)
    stored = stored_document()
    secrets = {p.slug: p.credentials for p in Provider.objects.all()}
    changes: list[Change] = []
    for kind, natural_key in NATURAL_KEYS.items():
        current = {natural_key(entry): entry for entry in getattr(stored, kind)}
        for entry in getattr(document, kind):
            key = natural_key(entry)
            old = current.get(key)
            diffs = list(_entry_changes(entry, old))
            if kind == "providers":
                diffs += _credential_changes(entry, old, secrets.get(key))
            if old is None:
                changes.append(Change(kind, key, "create", tuple(diffs)))
            elif diffs:
                changes.append(Change(kind, key, "update", tuple(diffs)))
    if prune:
        changes += [step.change for step in prune_steps(document)]
    return ConfigDiff(source=document.source, changes=tuple(changes))


def _entry_changes(entry: Located, old: Located | None) -> Iterator[FieldChange]:
    for field in fields(entry):
        name = field.name
        value = getattr(entry, name)
        if name in _NOT_VALUES or (name == "name" and value is None):
            continue  # a name left out keeps the stored one
        before = getattr(old, name) if old is not None else None
        if name == "breaker":
            for change in field_changes(name, before, value):
                bracket = change.name.partition("[")[2].rstrip("]")
                yield FieldChange(
                    f"breaker.{_BREAKER_NAMES.get(bracket, bracket)}", change.old, change.new
                )
            continue
        yield from field_changes(name, before, value)


def _credential_changes(
    entry: Any, old: Any, stored: Mapping[str, str] | None
) -> list[FieldChange]:
    if entry.credentials is not None:
        if isinstance(stored, UnreadableSecrets):
            return secret_changes(None, entry.credentials)
        return secret_changes(stored or {}, entry.credentials)
    moving = (
        old is not None
        and stored is not None
        and has_secrets(stored)
        and credentials_scope(old.adapter, old.base_url)
        != credentials_scope(entry.adapter, entry.base_url)
    )
    if moving:  # apply drops secrets entered for another host (apps.catalog.credential_scope)
        return [FieldChange("credentials", MASK, "(none): entered for another host")]
    return []
