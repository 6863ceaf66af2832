"""The Django admin as a browser drives it: page URLs and the data a change form posts."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.db.models import Model
from django.forms import BooleanField, Form, MultiWidget
from django.urls import reverse

from apps.catalog.models import Provider


def provider_form_data(provider: Provider, **overrides: Any) -> dict[str, Any]:
    data = {
        "slug": provider.slug,
        "name": provider.name,
        "adapter": provider.adapter,
        "base_url": provider.base_url,
        "timeout_ms": provider.timeout_ms,
        "notes": provider.notes,
        **{
            name: getattr(provider, name)
            for name in (
                "breaker_failures",
                "breaker_fault_rate",
                "breaker_window_s",
                "breaker_min_calls",
                "breaker_cooldown_s",
            )
        },
        "_save": "Save",
    }
    if provider.enabled:
        data["enabled"] = "on"
    data.update(overrides)
    return data


def change_url(obj: Any) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def admin_form_data(response: Any) -> dict[str, Any]:
    """What a browser posts back for an admin change form left as rendered."""
    data: dict[str, Any] = {"_save": "Save"}
    forms: list[Form] = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({management.add_prefix(n): management[n].value() for n in management.fields})
        forms.extend(inline.formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            key, value = form.add_prefix(name), form[name].value()
            if isinstance(field, BooleanField):
                if value:
                    data[key] = "on"
            elif isinstance(field.widget, MultiWidget):
                for index, part in enumerate(field.widget.decompress(value) or []):
                    data[f"{key}_{index}"] = "" if part is None else part
            else:
                data[key] = "" if value is None else value
    return data


def unreadable_ciphertext() -> str:
    """Credentials encrypted under a key the gateway does not have."""
    return Fernet(Fernet.generate_key()).encrypt(b'{"access_key": "old"}').decode()
