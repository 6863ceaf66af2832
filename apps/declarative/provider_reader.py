"""Reading a provider entry of the file: its adapter, defaults, credentials and breaker."""

from __future__ import annotations

from typing import Any, TypeVar

from apps.catalog.models import Provider
from apps.declarative.document import BREAKER_KEYS, Located, ProviderEntry
from apps.declarative.reader import Reader, kind_of
from apps.declarative.yaml_lines import LineDict

# A provider entry's keys besides `slug` and `adapter`.
PROVIDER_OPTIONAL_KEYS = (
    *("name", "base_url", "timeout_ms", "enabled", "countries", "credentials", "breaker"),
)

E = TypeVar("E", bound=Located)


class ProviderReader(Reader):
    """Reads `providers:` entries; the parser builds on it (apps.declarative.parse)."""

    def provider(self, item: LineDict, path: str) -> ProviderEntry | None:
        known_issues = len(self.issues)
        entry = self.mapping(
            item,
            path,
            item.line,
            required=("slug", "adapter"),
            optional=PROVIDER_OPTIONAL_KEYS,
        )
        if entry is None:
            return None
        adapter_key = self.text(entry, "adapter", path)
        adapter = self.code.adapters.get(adapter_key or "")
        if adapter_key is not None and adapter is None:
            known = ", ".join(sorted(self.code.adapters)) or "none"
            self.problem(
                entry.line_of("adapter"), path, f"unknown adapter {adapter_key!r} (known: {known})"
            )
        default_url = adapter.default_base_url if adapter else ""
        default_timeout = adapter.default_timeout_ms if adapter else 2000
        values: dict[str, Any] = {
            "slug": self.text(entry, "slug", path, Provider),
            "adapter": adapter_key,
            "base_url": self.text(entry, "base_url", path, Provider, default=default_url),
            "timeout_ms": self.integer(
                entry, "timeout_ms", path, Provider, default=default_timeout
            ),
            "enabled": self.boolean(entry, "enabled", path, default=False),
            "name": self.text(entry, "name", path, Provider, default=None),
            "credentials": self.credentials(entry, path, adapter),
            "breaker": self.breaker(entry, path),
            "countries": self.country_list(entry, "countries", path, adapter),
        }
        return self.build(ProviderEntry, entry, path, values, known_issues)

    def breaker(self, entry: LineDict, path: str) -> dict[str, int]:
        """`breaker: {failures: 5, fault_rate: 50, ...}`; keys left out take the defaults."""
        values: dict[str, int] = {
            name: Provider._meta.get_field(name).default  # type: ignore[union-attr]
            for name in BREAKER_KEYS.values()
        }
        if entry.get("breaker") is None:
            return values
        where = f"{path}.breaker"
        section = self.mapping(
            entry["breaker"],
            where,
            entry.line_of("breaker"),
            required=(),
            optional=tuple(BREAKER_KEYS),
        )
        if section is None:
            return values
        for key, name in BREAKER_KEYS.items():
            if key not in section:
                continue
            value, line = section[key], section.line_of(key)
            if isinstance(value, bool) or not isinstance(value, int):
                self.problem(
                    line, f"{where}.{key}", f"expected a whole number, got {kind_of(value)}"
                )
                continue
            checked = self.model_field(Provider, name, value, line, f"{where}.{key}")
            if checked is not None:
                values[name] = checked
        return values

    def credentials(self, entry: LineDict, path: str, adapter: Any) -> dict[str, str] | None:
        if "credentials" not in entry:
            return None
        where = f"{path}.credentials"
        value = entry["credentials"]
        if not isinstance(value, LineDict):
            self.problem(
                entry.line_of("credentials"), where, f"expected a mapping, got {kind_of(value)}"
            )
            return None
        accepted = tuple(adapter.credential_fields) if adapter else ()
        for key, secret in value.items():
            if adapter is not None and key not in accepted:
                takes = f"takes {', '.join(accepted)}" if accepted else "takes no credentials"
                self.problem(
                    value.line_of(key), where, f"unknown credential {key!r}: {adapter.key} {takes}"
                )
            elif not isinstance(secret, str) or not secret:
                self.problem(
                    value.line_of(key), f"{where}.{key}", "expected a non-empty quoted string"
                )
        return dict(value)

    def build(
        self, kind: type[E], entry: LineDict, path: str, values: dict[str, Any], known_issues: int
    ) -> E | None:
        """The entry, or None when reading it found a problem (then the file is refused)."""
        if len(self.issues) > known_issues:
            return None
        return kind(line=entry.line, key_lines=entry.key_lines, path=path, **values)
