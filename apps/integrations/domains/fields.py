"""The fields the domains methods' shapes are built from: a domain name, a period, a
registrant contact, a DNS record, a registrar's money amount."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.serializers import StrictCharField
from apps.integrations.domains.names import NotADomainName, normalise_domain
from apps.integrations.domains.registrant_form import CONTACT_SCHEMA, form_errors

MAX_PERIOD_YEARS = 10  # what registries allow for a registration or renewal
RECORD_TYPES = ("A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV")


def money(**kwargs: Any) -> serializers.DecimalField:
    """A money amount as a registrar states it: a decimal string with cents."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class DomainField(StrictCharField):
    """A domain name, normalised to lower-case IDNA ASCII (`bücher.de` -> `xn--bcher-kva.de`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 253)
        kwargs.setdefault("help_text", "A domain name, e.g. example.com (Unicode or punycode).")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            return normalise_domain(text)
        except NotADomainName as exc:
            raise serializers.ValidationError(str(exc)) from exc


@extend_schema_field(CONTACT_SCHEMA)
class RegistrantContactField(serializers.JSONField):
    """The registrant's contact, checked against the same JSON Schema the intention shows."""

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        errors = form_errors({"type": "object", **CONTACT_SCHEMA}, value)
        if errors:
            raise serializers.ValidationError(errors)
        return value


class PeriodField(serializers.IntegerField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_PERIOD_YEARS)
        kwargs.setdefault("default", 1)
        kwargs.setdefault("help_text", f"Years, 1-{MAX_PERIOD_YEARS}.")
        super().__init__(**kwargs)


class DnsRecord(serializers.Serializer):
    type = serializers.ChoiceField(choices=RECORD_TYPES)
    name = StrictCharField(
        max_length=255, help_text="'@' for the domain itself, or a host name such as 'www'."
    )
    # Declared fields leave the class body, so `data` stays the serializer's property.
    data = StrictCharField(  # type: ignore[assignment]
        max_length=4096,
        help_text="The value: an address, a host name, text; SRV: 'weight port target'.",
    )
    ttl = serializers.IntegerField(min_value=300, max_value=604800, required=False)
    priority = serializers.IntegerField(min_value=0, max_value=65535, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] in ("MX", "SRV") and "priority" not in attrs:
            raise serializers.ValidationError({"priority": [f"{attrs['type']} needs a priority."]})
        if attrs["type"] == "SRV" and len(attrs["data"].split()) != 3:
            raise serializers.ValidationError({"data": ["SRV data is 'weight port target'."]})
        return attrs
