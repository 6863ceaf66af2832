"""Admin forms for the catalog: choices from the code registry, write-only credentials."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.fields.related import ForeignKey
from django.forms import ModelChoiceField
from django.http import HttpRequest

from apps.catalog.countries import declared_countries, served_countries
from apps.catalog.models import Method, Provider, RoutingPolicy
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets

CREDENTIAL_FIELD_PREFIX = "credential__"


def adapter_choices(current: str = "") -> list[tuple[str, str]]:
    """Every registered adapter; a stored one that left the code stays visible, marked."""
    choices = [
        (key, f"{key} — {adapter.display_name}")
        for key, adapter in sorted(registry.adapters.items())
    ]
    if current and current not in registry.adapters:
        choices.insert(0, (current, f"{current} — missing from the code registry"))
    return choices


def strategy_choices(current: str = "") -> list[tuple[str, str]]:
    # Routing registers its strategies in the code registry when it is ready.
    strategies = registry.strategies
    choices = [(name, name) for name in sorted(strategies)]
    if current and current not in strategies:
        choices.insert(0, (current, f"{current} — not registered"))
    return choices


def credential_field_names(adapter_key: str) -> tuple[str, ...]:
    adapter = registry.adapters.get(adapter_key)
    return tuple(adapter.credential_fields) if adapter else ()


class CountryListField(forms.CharField):
    """Country codes typed as `US, CA` (commas or spaces), stored as a sorted list.

    Capitalised here for the typist's sake; which codes are allowed is the model's clean().
    """

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return sorted({code.upper() for code in re.split(r"[\s,;]+", text) if code})

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value


def countries_summary(provider: Provider) -> str:
    """The provider list's column: the narrowed list, or that the adapter's list applies."""
    adapter = registry.adapters.get(provider.adapter)
    if not provider.countries:
        return "all its adapter serves" if adapter and adapter.countries else "—"
    served = served_countries(provider.countries, adapter.countries if adapter else None)
    return ", ".join(sorted(served or ())) or "none (its adapter dropped them)"


class ProviderAdminForm(forms.ModelForm):
    """Provider settings plus one write-only input per credential the adapter needs.

    Stored secrets are never put back into the page: a blank input keeps the stored value,
    a filled one replaces it, and "clear" drops them all.
    """

    adapter = forms.ChoiceField(
        choices=(), help_text="The adapter class from the code registry, e.g. currency.fixer."
    )
    clear_credentials = forms.BooleanField(
        required=False,
        label="Clear all stored credentials",
        help_text="Drops every stored secret; values typed above are then the only ones kept.",
    )
    countries = CountryListField(required=False, label="Countries served")

    # Set by provider_admin_form() on the subclass it builds for one adapter.
    credential_names: ClassVar[tuple[str, ...]] = ()

    class Meta:
        model = Provider
        fields = [
            "slug",
            "name",
            "adapter",
            "base_url",
            "timeout_ms",
            "enabled",
            "countries",
            "notes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.adapter if self.instance.pk else ""
        self.fields["adapter"].choices = adapter_choices(current)  # type: ignore[attr-defined]
        self.fields["countries"].help_text = countries_help(current)
        if self.instance.pk and "base_url" in self.fields:  # absent for view-only staff
            self.fields["base_url"].help_text = (
                "The vendor's API root. A new scheme, host or port (or a new adapter) clears "
                "the stored credentials: they were entered for this one."
            )
        stored = self.instance.credentials if self.instance.pk else {}
        for name in self.credential_names:
            field = self.fields[CREDENTIAL_FIELD_PREFIX + name]
            if isinstance(stored, UnreadableSecrets):
                field.help_text = (
                    "Stored value unreadable (encryption key rotated?): enter it again."
                )
            elif stored.get(name):
                field.help_text = "Set. Leave blank to keep the stored value."
            else:
                field.help_text = "Not set."

    def new_credentials(self) -> dict[str, str] | None:
        """The secrets to store after this save, or None to leave the stored ones untouched."""
        entered = {
            name: value
            for name in self.credential_names
            if (value := self.cleaned_data.get(CREDENTIAL_FIELD_PREFIX + name))
        }
        clear = bool(self.cleaned_data.get("clear_credentials"))
        if not entered and not clear:
            return None
        stored = self.instance.credentials
        # Unreadable secrets cannot be merged: what was typed now is all there is.
        kept = {} if clear or isinstance(stored, UnreadableSecrets) else dict(stored)
        return {**kept, **entered}


def countries_help(adapter_key: str) -> str:
    """Says what the adapter serves, since the override may only pick from that."""
    adapter = registry.adapters.get(adapter_key)
    if adapter is None:
        serves = "its adapter's countries"
    elif adapter.countries is None:
        serves = f"every country ({adapter.key} declares no limit)"
    else:
        serves = f"{adapter.key} serves {declared_countries(adapter)}"
    return (
        "Only for methods that route by country (e.g. tax). Codes like US, CA to narrow what "
        f"the adapter serves; blank uses all of it. Now: {serves}."
    )


def provider_admin_form(adapter_key: str) -> type[ProviderAdminForm]:
    """A ProviderAdminForm with a password input for each credential of `adapter_key`."""
    names = credential_field_names(adapter_key)
    attrs: dict[str, Any] = {
        CREDENTIAL_FIELD_PREFIX + name: forms.CharField(
            label=name,
            required=False,
            strip=True,
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        for name in names
    }
    attrs["credential_names"] = names
    return type("ProviderAdminForm", (ProviderAdminForm,), attrs)


class RoutingPolicyForm(forms.ModelForm):
    strategy = forms.ChoiceField(
        choices=(), help_text="How the candidate offerings of a call are ordered."
    )

    class Meta:
        model = RoutingPolicy
        fields = ["method", "strategy", "failover", "max_attempts", "deadline_ms", "cache_ttl_s"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = self.instance.strategy if self.instance.pk else ""
        self.fields["strategy"].choices = strategy_choices(current)  # type: ignore[attr-defined]
        if not self.instance.pk:
            self.fields["strategy"].initial = "priority"


# --- method choices (the offering and routing policy pages) ---------------------------------


class MethodListFilter(admin.RelatedFieldListFilter):
    """Lists methods by key with one query (a method's name needs its service)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[Any]:
        return [(m.pk, m.key) for m in Method.objects.select_related("service")]


def methods_with_service() -> QuerySet[Method]:
    return Method.objects.select_related("service")


class MethodChoicesMixin:
    """Method drop-downs label each method by its key without a query per option."""

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.name == "method":
            kwargs.setdefault("queryset", methods_with_service())
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
