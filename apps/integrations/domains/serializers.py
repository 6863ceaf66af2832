"""Request and response shapes of the domains methods (DRF serializers: validation, schemas)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.core.serializers import StrictCharField
from apps.integrations.domains.fields import (
    DnsRecord,
    DomainField,
    PeriodField,
    RegistrantContactField,
    money,
)
from apps.integrations.domains.registrant_form import form_schema

# Shared by the examples (OpenAPI) below, so that they tell one story.
_DOMAIN = "example-shop.com"
_INTENTION_ID = "6f1c2a9e-4b7d-4f3a-9c51-2e8d7b0a4c13"
_RECORDS = [
    {"type": "A", "name": "@", "data": "203.0.113.10", "ttl": 3600},
    {"type": "CNAME", "name": "www", "data": "example-shop.com", "ttl": 3600},
    {"type": "MX", "name": "@", "data": "mail.example-shop.com", "ttl": 3600, "priority": 10},
    {"type": "TXT", "name": "@", "data": "v=spf1 mx -all", "ttl": 3600},
]


def _example(name: str, value: dict[str, Any], *, response: bool = False) -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=not response, response_only=response)


@extend_schema_serializer(
    examples=[
        _example("A .com name", {"domain": _DOMAIN}),
        _example("An internationalised name", {"domain": "bücher-shop.de"}),
    ]
)
class DomainRequest(serializers.Serializer):
    domain = DomainField()


@extend_schema_serializer(
    examples=[
        _example(
            "Available",
            {
                "domain": _DOMAIN,
                "available": True,
                "price": "11.99",
                "currency": "USD",
                "provider": "namecheap",
            },
            response=True,
        )
    ]
)
class CheckAvailabilityResponse(serializers.Serializer):
    domain = StrictCharField()
    available = serializers.BooleanField()
    price = money(allow_null=True, help_text="For one year; null when not available.")
    currency = StrictCharField(allow_null=True, help_text="ISO 4217.")
    provider = StrictCharField(
        allow_null=True, help_text="The registrar that offers it cheapest; null if none does."
    )


@extend_schema_serializer(
    examples=[
        _example(
            "Reserved at the cheapest registrar",
            {
                "intention_id": _INTENTION_ID,
                "domain": _DOMAIN,
                "provider": "namecheap",
                "price": "11.99",
                "currency": "USD",
                "schema": form_schema(None),
            },
            response=True,
        )
    ]
)
class CreateIntentionResponse(serializers.Serializer):
    intention_id = serializers.UUIDField()
    domain = StrictCharField()
    provider = StrictCharField()
    price = money()
    currency = StrictCharField()
    schema = serializers.JSONField(
        help_text="JSON Schema of the form to submit with submit_registration_intention."
    )


@extend_schema_serializer(
    examples=[
        _example(
            "A company registers for two years",
            {
                "intention_id": _INTENTION_ID,
                "registrant_contact": {
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "organization": "Example Shop GmbH",
                    "email": "jane.doe@example.org",
                    "phone": "+4930901820",
                    "address": {
                        "line1": "Friedrichstrasse 123",
                        "city": "Berlin",
                        "region": "BE",
                        "postal_code": "10117",
                        "country": "DE",
                    },
                },
                "period": 2,
                "dns_records": _RECORDS[:2],
            },
        )
    ]
)
class SubmitIntentionRequest(serializers.Serializer):
    intention_id = serializers.UUIDField()
    registrant_contact = RegistrantContactField()
    agreed_agreements = serializers.ListField(
        child=StrictCharField(max_length=100),
        required=False,
        max_length=50,
        help_text="Keys of the registrar's agreements the registrant accepted (GoDaddy).",
    )
    period = PeriodField()
    dns_records = serializers.ListField(
        child=DnsRecord(),
        required=False,
        max_length=100,
        help_text="Records to set once the domain is ready (default: those the gateway's "
        "operator configured, if any).",
    )
    client_ip = serializers.IPAddressField(
        required=False,
        help_text="Address of the registrant who agreed (default: the caller's address).",
    )


@extend_schema_serializer(
    examples=[
        _example(
            "Registered",
            {
                "intention_id": _INTENTION_ID,
                "domain": _DOMAIN,
                "provider": "namecheap",
                "registered": True,
                "order_id": "4820193",
                "total": "23.98",
                "currency": "USD",
            },
            response=True,
        )
    ]
)
class SubmitIntentionResponse(serializers.Serializer):
    intention_id = serializers.UUIDField()
    domain = StrictCharField()
    provider = StrictCharField()
    registered = serializers.BooleanField()
    order_id = StrictCharField()
    total = money()
    currency = StrictCharField()


@extend_schema_serializer(
    examples=[
        _example(
            "Active, renewing itself",
            {
                "domain": _DOMAIN,
                "provider": "namecheap",
                "status": "ACTIVE",
                "expires_at": "2028-12-04T10:15:00Z",
                "renew_auto": True,
                "nameservers": ["dns1.registrar-servers.com", "dns2.registrar-servers.com"],
            },
            response=True,
        )
    ]
)
class GetDomainResponse(serializers.Serializer):
    domain = StrictCharField()
    provider = StrictCharField()
    status = StrictCharField(help_text="The registrar's status, e.g. ACTIVE.")
    expires_at = serializers.DateTimeField(allow_null=True)
    renew_auto = serializers.BooleanField(allow_null=True)
    nameservers = serializers.ListField(child=StrictCharField())


@extend_schema_serializer(
    examples=[
        _example("One more year", {"domain": _DOMAIN}),
        _example("Three more years", {"domain": _DOMAIN, "period": 3}),
    ]
)
class RenewRequest(DomainRequest):
    period = PeriodField()


@extend_schema_serializer(
    examples=[
        _example(
            "Renewed",
            {
                "domain": _DOMAIN,
                "provider": "namecheap",
                "order_id": "4820977",
                "total": "35.97",
                "currency": "USD",
            },
            response=True,
        )
    ]
)
class RenewResponse(serializers.Serializer):
    domain = StrictCharField()
    provider = StrictCharField()
    order_id = StrictCharField()
    total = money()
    currency = StrictCharField()


@extend_schema_serializer(
    examples=[
        _example("A web site and its mail", {"domain": _DOMAIN, "records": _RECORDS}),
        _example(
            "Mail at a provider",
            {
                "domain": _DOMAIN,
                "records": [
                    {"type": "MX", "name": "@", "data": "mx1.mail.example.net", "priority": 10},
                    {"type": "MX", "name": "@", "data": "mx2.mail.example.net", "priority": 20},
                ],
            },
        ),
    ]
)
class SetDnsRequest(DomainRequest):
    records = serializers.ListField(child=DnsRecord(), min_length=1, max_length=100)


@extend_schema_serializer(
    examples=[
        _example(
            "Records set",
            {"domain": _DOMAIN, "provider": "namecheap", "records": _RECORDS},
            response=True,
        )
    ]
)
class SetDnsResponse(serializers.Serializer):
    domain = StrictCharField()
    provider = StrictCharField()
    records = DnsRecord(many=True)
