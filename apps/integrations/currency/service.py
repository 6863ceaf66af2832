"""The currency service: latest exchange rates and conversions."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.core.serializers import StrictCharField, StrictRegexField


class CurrencyCodeField(StrictRegexField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 4217 currency code, e.g. EUR.")
        super().__init__(
            r"^[A-Z]{3}$",
            error_messages={"invalid": "Use a three-letter ISO 4217 code in capitals, e.g. EUR."},
            **kwargs,
        )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Some currencies against the euro",
            value={"base": "EUR", "symbols": ["USD", "GBP", "JPY"]},
            request_only=True,
        ),
        OpenApiExample(
            "Every currency against the dollar", value={"base": "USD"}, request_only=True
        ),
    ]
)
class LatestRatesRequest(serializers.Serializer):
    base = CurrencyCodeField(required=False, default="USD")
    symbols = serializers.ListField(
        child=CurrencyCodeField(),
        required=False,
        min_length=1,
        max_length=200,
        help_text="Only these currencies; all that the provider knows when absent.",
    )

    def validate_symbols(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Some currencies against the euro",
            value={
                "base": "EUR",
                "date": "2026-12-04",
                "rates": {"USD": 1.0842, "GBP": 0.8571, "JPY": 162.37},
            },
            response_only=True,
        )
    ]
)
class LatestRatesResponse(serializers.Serializer):
    base = CurrencyCodeField()
    date = serializers.DateField(help_text="The date the rates were published for.")
    rates = serializers.DictField(
        child=serializers.FloatField(), help_text="Units of each currency for one unit of base."
    )


class _RenamesFrom:
    """'from' is a Python keyword: declare from_ and expose it as 'from'."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()  # type: ignore[misc]
        fields["from"] = fields.pop("from_")
        return {"from": fields.pop("from"), **fields}


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Euros into dollars",
            value={"from": "EUR", "to": "USD", "amount": "10.50"},
            request_only=True,
        ),
        OpenApiExample(
            "Pounds into yen",
            value={"from": "GBP", "to": "JPY", "amount": "2500"},
            request_only=True,
        ),
    ]
)
class ConvertRequest(_RenamesFrom, serializers.Serializer):
    """Convert `amount` of `from` into `to`."""

    from_ = CurrencyCodeField()
    to = CurrencyCodeField()
    amount = serializers.DecimalField(
        max_digits=30,
        decimal_places=None,  # keep the amount exactly as sent ("10.50" stays "10.50")
        min_value=0,
        coerce_to_string=True,
        help_text='A decimal string, e.g. "10.50".',
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Euros into dollars",
            value={
                "from": "EUR",
                "to": "USD",
                "amount": "10.50",
                "rate": 1.0842,
                "result": "11.38",
                "date": "2026-12-04",
            },
            response_only=True,
        )
    ]
)
class ConvertResponse(_RenamesFrom, serializers.Serializer):
    """The converted amount and the rate used."""

    from_ = CurrencyCodeField()
    to = CurrencyCodeField()
    amount = StrictCharField(help_text="The amount converted, as sent.")
    rate = serializers.FloatField(help_text="Units of `to` for one unit of `from`.")
    result = StrictCharField(help_text="Decimal string, rounded to the minor unit of `to`.")
    date = serializers.DateField()


@registry.service
class CurrencyService(ServiceDefinition):
    slug = "currency"
    name = "Currency exchange rates"
    description = "Reference exchange rates and conversions from several rate suppliers."

    latest_rates = MethodSpec(
        request=LatestRatesRequest,
        response=LatestRatesResponse,
        summary="Latest exchange rates",
        description="The latest rates for a base currency, optionally only some symbols.",
        idempotent=True,
        cacheable=True,
    )
    convert = MethodSpec(
        request=ConvertRequest,
        response=ConvertResponse,
        summary="Convert an amount",
        description="Convert an amount between two currencies at the latest rate.",
        idempotent=True,
        cacheable=True,
    )
