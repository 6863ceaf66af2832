"""The tax service's response contracts (DRF serializers): taxes per line, rates per
jurisdiction; amounts and rates are decimal strings, never floats."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.core.serializers import StrictCharField


class TaxDetailSerializer(serializers.Serializer):
    rate = StrictCharField(help_text='Decimal string, e.g. "0.0625" for 6.25 %.')
    tax = StrictCharField(help_text="The amount of this tax on the line, decimal string.")
    tax_name = StrictCharField()
    country = StrictCharField()
    region = StrictCharField(allow_blank=True)
    tax_type = StrictCharField(help_text="e.g. Sales, Use, VAT, GST.")
    jurisdiction = StrictCharField(allow_blank=True)
    jurisdiction_type = StrictCharField(help_text="country, state, county, city, special")


class LineTaxesSerializer(serializers.Serializer):
    line_number = serializers.IntegerField()
    tax = StrictCharField(help_text="All taxes on the line, decimal string.")
    taxes = TaxDetailSerializer(many=True)


def _line_taxes(line_number: int, state: str, district: str) -> dict[str, Any]:
    """An example line taxed in San Francisco: the state's 6 % and the local 2.625 %."""
    taxes = [
        ("0.0600", state, "CA STATE TAX", "state", "CALIFORNIA"),
        ("0.02625", district, "CA SPECIAL TAX", "special", "SAN FRANCISCO CO LOCAL TAX SL"),
    ]
    return {
        "line_number": line_number,
        "tax": str(Decimal(state) + Decimal(district)),
        "taxes": [
            {
                "rate": rate,
                "tax": tax,
                "tax_name": name,
                "country": "US",
                "region": "CA",
                "tax_type": "Sales",
                "jurisdiction": jurisdiction,
                "jurisdiction_type": kind,
            }
            for rate, tax, name, kind, jurisdiction in taxes
        ],
    }


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Two items shipped to San Francisco",
            value={
                "total_tax": "8.63",
                "lines": [_line_taxes(1, "3.59", "1.57"), _line_taxes(2, "2.41", "1.06")],
            },
            response_only=True,
        )
    ]
)
class TaxesForSaleResponse(serializers.Serializer):
    total_tax = StrictCharField(help_text='Decimal string in the sale\'s currency, "8.60".')
    lines = LineTaxesSerializer(many=True)


class JurisdictionRateSerializer(serializers.Serializer):
    rate = StrictCharField(help_text="Decimal string.")
    jurisdiction = StrictCharField(allow_blank=True)
    jurisdiction_type = StrictCharField(help_text="country, state, county, city, special")


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An address in San Francisco",
            value={
                "total_rate": "0.08625",
                "rates": [
                    {"rate": "0.0600", "jurisdiction": "CALIFORNIA", "jurisdiction_type": "state"},
                    {
                        "rate": "0.0025",
                        "jurisdiction": "SAN FRANCISCO",
                        "jurisdiction_type": "county",
                    },
                    {
                        "rate": "0.02375",
                        "jurisdiction": "SAN FRANCISCO COUNTY DISTRICT TAX SP",
                        "jurisdiction_type": "special",
                    },
                ],
            },
            response_only=True,
        )
    ]
)
class TaxesForAddressResponse(serializers.Serializer):
    total_rate = StrictCharField(help_text='The combined rate, decimal string, "0.0950".')
    rates = JurisdictionRateSerializer(
        many=True, help_text="Per jurisdiction, where the provider breaks the rate down."
    )
