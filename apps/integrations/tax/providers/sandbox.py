"""An offline tax provider with fixed, made-up rates: the demo and tests work without network.

NOT FOR PRODUCTION: its rates are round numbers per country, not any authority's. It serves
every country so that the demo answers whatever address it is given.
"""

from decimal import Decimal
from typing import Any

from apps.catalog.providers import CallContext, ProviderAdapter, provides
from apps.catalog.registry import registry
from apps.integrations.tax.amounts import amount_str, rate_str, tax_on

# (jurisdiction type, tax type, rate) per country; the region fills in state-level names.
SANDBOX_RATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "US": (
        ("state", "Sales", "0.0500"), ("county", "Sales", "0.0100"), ("city", "Sales", "0.0050")
    ),
    "CA": (("country", "GST", "0.0500"), ("state", "PST", "0.0700")),
    "AU": (("country", "GST", "0.1000"),),
    "GB": (("country", "VAT", "0.2000"),),
    "DE": (("country", "VAT", "0.1900"),),
    "FR": (("country", "VAT", "0.2000"),),
}  # fmt: skip
DEFAULT_RATES = (("country", "VAT", "0.2000"),)


def _taxes(address: dict[str, Any]) -> list[tuple[str, str, str, Decimal]]:
    """(jurisdiction type, jurisdiction, tax type, rate) in force at the address."""
    country, region = address["country"], address.get("region") or ""
    names = {"country": country, "state": region, "county": "SANDBOX COUNTY"}
    names["city"] = address["city"].upper()
    return [
        (level, names[level], tax_type, Decimal(rate))
        for level, tax_type, rate in SANDBOX_RATES.get(country, DEFAULT_RATES)
    ]


@registry.provider
class SandboxTax(ProviderAdapter):
    """Fixed rates per country, computed locally. For the offline demo and development."""

    key = "tax.sandbox"
    default_slug = "tax-sandbox"
    display_name = "Sandbox tax (offline, fixed rates, not for production)"
    default_base_url = "sandbox://tax"
    default_timeout_ms = 500

    async def health_probe(self) -> None:
        return None  # offline: always answers

    @provides("taxes_for_sale")
    async def taxes_for_sale(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        address = payload["ship_to_address"]
        taxes = _taxes(address)
        lines, total = [], Decimal(0)
        for line in payload["lines"]:
            details = [
                {
                    "rate": rate_str(rate),
                    "tax": amount_str(tax_on(line["amount_total"], rate)),
                    "tax_name": f"SANDBOX {name} {tax_type}".upper(),
                    "country": address["country"],
                    "region": address.get("region") or "",
                    "tax_type": tax_type,
                    "jurisdiction": name,
                    "jurisdiction_type": level,
                }
                for level, name, tax_type, rate in taxes
            ]
            line_tax = sum((tax_on(line["amount_total"], t[3]) for t in taxes), Decimal(0))
            total += line_tax
            lines.append(
                {"line_number": line["line_number"], "tax": amount_str(line_tax), "taxes": details}
            )
        return {"total_tax": amount_str(total), "lines": lines}

    @provides("taxes_for_address")
    async def taxes_for_address(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        taxes = _taxes(payload["address"])
        return {
            "total_rate": rate_str(sum((t[3] for t in taxes), Decimal(0))),
            "rates": [
                {"rate": rate_str(rate), "jurisdiction": name, "jurisdiction_type": level}
                for level, name, _, rate in taxes
            ],
        }
