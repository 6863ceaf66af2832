"""The tax service's request contracts (DRF serializers); the answers are in
apps.integrations.tax.responses.

The input follows the original system's SaleTaxQuery (customer, date, currency, the two
addresses, numbered lines); amounts and rates are decimal strings both ways, never floats.
"""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.core.countries import COMMON_MISTAKES, ISO_3166_ALPHA_2
from apps.core.serializers import ClosedSerializer, StrictCharField, StrictRegexField

# Countries whose sales taxes are set per state or province: a rate needs the region.
REGION_REQUIRED = frozenset({"US", "CA", "AU"})
MAX_LINES = 1000  # AvaTax's documented limit per transaction is far above what a cart holds

# Shared by the examples (OpenAPI) below: a sale shipped from Washington to San Francisco.
_SHOP = {
    "line1": "100 Ravine Ln NE",
    "city": "Bainbridge Island",
    "region": "WA",
    "postal_code": "98110",
    "country": "US",
}
_CUSTOMER = {
    "line1": "1 Market St",
    "line2": "Suite 300",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}


class CountryCodeField(StrictCharField):
    """ISO 3166-1 alpha-2, in capitals; `UK` is refused with a pointer to `GB`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 3166-1 alpha-2 country code, e.g. US.")
        super().__init__(min_length=2, max_length=2, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data)
        if code in ISO_3166_ALPHA_2:
            return code
        hint = ""
        if code.upper() in ISO_3166_ALPHA_2:
            hint = f" Write it in capitals: {code.upper()}."
        elif code.upper() in COMMON_MISTAKES:
            hint = f" Did you mean {COMMON_MISTAKES[code.upper()]}?"
        raise serializers.ValidationError(f"{code!r} is not an ISO 3166-1 alpha-2 code.{hint}")


class AddressSerializer(ClosedSerializer):
    """A street address; lengths are what AvaTax's AddressInfo accepts."""

    line1 = StrictCharField(max_length=50)
    line2 = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    city = StrictCharField(max_length=50)
    region = StrictRegexField(
        r"^[A-Z0-9]{1,3}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="State or province code (ISO 3166-2 subdivision), e.g. CA, ON, NSW. "
        "Required in the US, Canada and Australia.",
        error_messages={"invalid": "Use the subdivision code in capitals, e.g. CA or NSW."},
    )
    postal_code = StrictCharField(max_length=11)
    country = CountryCodeField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["country"] in REGION_REQUIRED and not attrs.get("region"):
            raise serializers.ValidationError(
                {"region": [f"Required for an address in {attrs['country']}."]}
            )
        return attrs


class SaleLineSerializer(ClosedSerializer):
    """One line of the sale: an item, its quantity and their total."""

    line_number = serializers.IntegerField(min_value=1, max_value=1_000_000)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)
    amount_total = serializers.DecimalField(
        max_digits=15,
        decimal_places=4,
        min_value=Decimal("0"),
        help_text='The line\'s total (quantity x unit price), a decimal string, e.g. "29.90".',
    )
    item_code = StrictCharField(max_length=50, required=False)
    tax_code = StrictCharField(
        max_length=25,
        required=False,
        help_text="The provider's product tax code (AvaTax tax code, TaxJar product_tax_code).",
    )
    description = StrictCharField(max_length=256, required=False)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Two items shipped to San Francisco",
            value={
                "customer_id": "CUST-1042",
                "sale_id": "ORDER-10042",
                "date": "2026-12-04",
                "currency": "USD",
                "ship_from_address": _SHOP,
                "ship_to_address": _CUSTOMER,
                "lines": [
                    {
                        "line_number": 1,
                        "quantity": 2,
                        "amount_total": "59.80",
                        "item_code": "MUG-01",
                        "description": "Ceramic mug",
                    },
                    {
                        "line_number": 2,
                        "quantity": 1,
                        "amount_total": "40.20",
                        "item_code": "TEE-03",
                        "tax_code": "PC040100",
                        "description": "T-shirt",
                    },
                ],
                "amount": "100.00",
            },
            request_only=True,
        )
    ]
)
class TaxesForSaleRequest(serializers.Serializer):
    """A sale to quote taxes for; nothing is recorded at the provider."""

    customer_id = StrictCharField(max_length=50)
    date = serializers.DateField(help_text="The sale's date; rates in force on it apply.")
    currency = StrictRegexField(
        r"^[A-Z]{3}$",
        help_text="ISO 4217 code, e.g. USD.",
        error_messages={"invalid": "Use a three-letter ISO 4217 code in capitals, e.g. USD."},
    )
    ship_from_address = AddressSerializer()
    ship_to_address = AddressSerializer(
        help_text="Where the goods go; its country chooses the provider."
    )
    # Empty is refused in validate_lines, so that the error names `lines` itself.
    lines = SaleLineSerializer(many=True)
    sale_id = StrictCharField(max_length=50, required=False)
    salesperson_id = StrictCharField(max_length=25, required=False)
    amount = serializers.DecimalField(
        max_digits=15,
        decimal_places=4,
        required=False,
        help_text="The sale's total; when given it must equal the sum of the lines.",
    )
    ordered_at_address = AddressSerializer(required=False)
    accepted_at_address = AddressSerializer(required=False)

    def validate_lines(self, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not lines:
            raise serializers.ValidationError("A sale needs at least one line.")
        if len(lines) > MAX_LINES:
            raise serializers.ValidationError(f"At most {MAX_LINES} lines.")
        return lines

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        seen: set[int] = set()
        for index, line in enumerate(attrs["lines"]):
            if line["line_number"] in seen:
                raise serializers.ValidationError(
                    {"lines": {str(index): {"line_number": ["Each line needs its own number."]}}}
                )
            seen.add(line["line_number"])
        total = sum((line["amount_total"] for line in attrs["lines"]), Decimal(0))
        if "amount" in attrs and attrs["amount"] != total:
            raise serializers.ValidationError(
                {"amount": [f"The lines add up to {total}, not {attrs['amount']}."]}
            )
        return attrs


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An address in San Francisco", value={"address": _CUSTOMER}, request_only=True
        ),
        OpenApiExample(
            "An address in Toronto",
            value={
                "address": {
                    "line1": "290 Bremner Blvd",
                    "city": "Toronto",
                    "region": "ON",
                    "postal_code": "M5V 3L9",
                    "country": "CA",
                }
            },
            request_only=True,
        ),
    ]
)
class TaxesForAddressRequest(serializers.Serializer):
    address = AddressSerializer(help_text="Its country chooses the provider.")
