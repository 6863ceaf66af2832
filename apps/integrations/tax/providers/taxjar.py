"""TaxJar API v2: sales tax for an order, and the rates at a location."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import httpx

from apps.catalog.providers import (
    CallContext,
    InvalidInput,
    ProviderAdapter,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.tax.amounts import amount_str, decimal_of, json_body, rate_str

# https://developers.taxjar.com/api/reference/#countries
EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip
TAXJAR_COUNTRIES = frozenset({"US", "CA", "AU", "GB"}) | EU_COUNTRIES

# The taxes of a line item in the documented breakdown, per kind of country: the key of
# the rate, of the amount, the tax's type and which jurisdiction it belongs to.
_US_PARTS = (
    ("state_sales_tax_rate", "state_amount", "Sales", "state"),
    ("county_tax_rate", "county_amount", "Sales", "county"),
    ("city_tax_rate", "city_amount", "Sales", "city"),
    ("special_tax_rate", "special_district_amount", "Sales", "special"),
)
_CA_PARTS = (
    ("gst_tax_rate", "gst", "GST", "country"),
    ("pst_tax_rate", "pst", "PST", "state"),
    ("qst_tax_rate", "qst", "QST", "state"),
)
_COUNTRY_PARTS = (("country_tax_rate", "country_tax_collectable", "", "country"),)
# HTTP statuses TaxJar documents for a request it cannot serve as sent.
_INPUT_STATUSES = {400, 404, 406, 422}
UNIT_PRICE_QUANTUM = Decimal("0.000001")


def _location(prefix: str, address: dict[str, Any]) -> dict[str, Any]:
    street = " ".join(part for part in (address["line1"], address.get("line2")) if part)
    location = {
        f"{prefix}country": address["country"],
        f"{prefix}zip": address["postal_code"],
        f"{prefix}city": address["city"],
        f"{prefix}street": street,
    }
    if address.get("region"):
        location[f"{prefix}state"] = address["region"]
    return location


def _order(payload: dict[str, Any]) -> dict[str, Any]:
    """Our sale as TaxJar's order: amounts are line totals, TaxJar wants unit prices."""
    items = []
    for line in payload["lines"]:
        item = {
            "id": str(line["line_number"]),
            "quantity": line["quantity"],
            "unit_price": (line["amount_total"] / line["quantity"]).quantize(
                UNIT_PRICE_QUANTUM, rounding=ROUND_HALF_UP
            ),
            "discount": Decimal(0),
        }
        if line.get("tax_code"):
            item["product_tax_code"] = line["tax_code"]
        items.append(item)
    return {
        **_location("from_", payload["ship_from_address"]),
        **_location("to_", payload["ship_to_address"]),
        "amount": sum((line["amount_total"] for line in payload["lines"]), Decimal(0)),
        "shipping": Decimal(0),
        "customer_id": payload["customer_id"],
        "line_items": items,
    }


def _line_taxes(item: dict[str, Any], country: str, places: dict[str, Any]) -> list[dict]:
    """One line item's breakdown as our taxes; `places` is the answer's jurisdictions."""
    region = str(places.get("state") or "")
    names = {
        "country": country,
        "state": region,
        "county": str(places.get("county") or ""),
        "city": str(places.get("city") or ""),
        "special": region,
    }
    parts = {"US": _US_PARTS, "CA": _CA_PARTS}.get(country, _COUNTRY_PARTS)
    taxes = []
    for rate_key, amount_key, tax_type, level in parts:
        rate = decimal_of(item.get(rate_key, 0))
        if not rate:
            continue
        tax_type = tax_type or ("GST" if country == "AU" else "VAT")
        label = f"{level} tax" if tax_type == "Sales" else tax_type
        taxes.append(
            {
                "rate": rate_str(rate),
                "tax": amount_str(decimal_of(item.get(amount_key, 0))),
                "tax_name": f"{names[level]} {label}".strip().upper(),
                "country": country,
                "region": region,
                "tax_type": tax_type,
                "jurisdiction": names[level],
                "jurisdiction_type": level,
            }
        )
    return taxes


@registry.provider
class TaxJar(ProviderAdapter):
    """TaxJar API v2, https://developers.taxjar.com/api/reference/.

    `Authorization: Bearer <api token>`. `POST /v2/taxes` with from_/to_ address fields and
    `line_items` (id, quantity, unit_price, product_tax_code) answers `{"tax":
    {"amount_to_collect", "rate", "has_nexus", "jurisdictions", "breakdown": {"line_items":
    [...]}}}` (no breakdown without nexus: nothing to collect). `GET /v2/rates/{zip}` answers
    `{"rate": {...}}`. Errors are `{"error": "Bad Request", "detail": "...", "status": 400}`.
    """

    key = "tax.taxjar"
    display_name = "TaxJar"
    default_base_url = "https://api.taxjar.com"  # sandbox: https://api.sandbox.taxjar.com
    default_timeout_ms = 5000
    credential_fields = ("api_token",)
    countries = TAXJAR_COUNTRIES

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.credentials['api_token']}"}

    async def health_probe(self) -> None:
        """`GET /v2/categories`: TaxJar answers and accepts our token."""
        response = await self.send("GET", "/v2/categories", headers=self._headers())
        self.raise_for_server_error(response)
        if response.status_code != 200:
            raise self.refusal(response.status_code, f"HTTP {response.status_code}")
        self.json_of(response)["categories"]

    @provides("taxes_for_sale")
    async def taxes_for_sale(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        response = await self.send(
            "POST",
            "/v2/taxes",
            content=json_body(_order(payload)),
            headers={**self._headers(), "Content-Type": "application/json"},
        )
        tax = self._answer(response, subject="ship_to_address")["tax"]
        country = payload["ship_to_address"]["country"]
        places = tax.get("jurisdictions", {})
        by_id = {str(item["id"]): item for item in tax.get("breakdown", {}).get("line_items", [])}
        lines = []
        for line in payload["lines"]:
            item = by_id.get(str(line["line_number"]), {})
            lines.append(
                {
                    "line_number": line["line_number"],
                    "tax": amount_str(decimal_of(item.get("tax_collectable", 0))),
                    "taxes": _line_taxes(item, country, places),
                }
            )
        return {"total_tax": amount_str(decimal_of(tax["amount_to_collect"])), "lines": lines}

    @provides("taxes_for_address")
    async def taxes_for_address(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        address = payload["address"]
        params = {"country": address["country"], "city": address["city"]}
        params["street"] = " ".join(p for p in (address["line1"], address.get("line2")) if p)
        if address.get("region"):
            params["state"] = address["region"]
        response = await self.send(
            "GET",
            f"/v2/rates/{quote(address['postal_code'], safe='')}",
            params=params,
            headers=self._headers(),
        )
        rate = self._answer(response, subject="address")["rate"]
        return _rates(rate)

    def _answer(self, response: httpx.Response, *, subject: str) -> Any:
        self.raise_for_server_error(response)
        body = self.json_of(response)
        if response.status_code == 200:
            return body
        detail = f"HTTP {response.status_code}, {body.get('error')}: {body.get('detail')}"
        if response.status_code in _INPUT_STATUSES:
            message = str(body["detail"])
            raise InvalidInput(f"TaxJar refused the input: {message}", errors={subject: [message]})
        raise self.refusal(response.status_code, detail)


def _rates(rate: dict[str, Any]) -> dict[str, Any]:
    """TaxJar's rate object: US rates per jurisdiction, Canada only combined, elsewhere the
    country's (AU country_rate, EU standard_rate)."""
    parts = (
        ("country_rate", "country", "country"),
        ("state_rate", "state", "state"),
        ("county_rate", "county", "county"),
        ("city_rate", "city", "city"),
        ("combined_district_rate", None, "special"),
    )
    rates = []
    for rate_key, name_key, level in parts:
        if rate.get(rate_key) is None or not decimal_of(rate[rate_key]):
            continue
        rates.append(
            {
                "rate": rate_str(decimal_of(rate[rate_key])),
                "jurisdiction": str(rate.get(name_key) or "") if name_key else "",
                "jurisdiction_type": level,
            }
        )
    if "standard_rate" in rate:  # the EU answer: the country's standard VAT
        total = decimal_of(rate["standard_rate"])
        rates = [{"rate": rate_str(total), "jurisdiction": str(rate["country"]),
                  "jurisdiction_type": "country"}]  # fmt: skip
    else:
        total = decimal_of(rate["combined_rate"])
    return {"total_rate": rate_str(total), "rates": rates}
