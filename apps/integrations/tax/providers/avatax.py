"""Avalara AvaTax REST v2: CreateTransaction as a SalesOrder, and tax rates by address."""

from __future__ import annotations

import re
from typing import Any

import httpx

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    CallContext,
    InvalidInput,
    ProviderAdapter,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.tax.amounts import amount_str, decimal_of, json_body, rate_str

# AvaTax's JurisdictionType values, as our lower-case jurisdiction types.
_JURIS_TYPES = {
    "Country": "country",
    "State": "state",
    "County": "county",
    "City": "city",
    "Special": "special",
    # AvaTax v1 abbreviations, still seen in jurisType of older accounts
    "CNT": "country",
    "STA": "state",
    "CTY": "county",
    "CIT": "city",
    "STJ": "special",
}
# Error codes about the request's content: the client's input, not our account or AvaTax.
_ADDRESS_ERRORS = {
    "InvalidAddress",
    "AddressRangeError",
    "AddressUnknownStreet",
    "AddressNotGeocoded",
    "AddressIncomplete",
    "InvalidZipForStateError",
    "JurisdictionNotFoundError",
    "NonUSAddressError",
    "UnsupportedCountry",
    "InvalidCountry",
    "InvalidPostalCode",
    "RegionRequired",
}
_LINE = re.compile(r"lines\[(\d+)\]", re.IGNORECASE)


def _address(address: dict[str, Any]) -> dict[str, Any]:
    return {
        "line1": address["line1"],
        "line2": address.get("line2") or None,
        "city": address["city"],
        "region": address.get("region") or None,
        "postalCode": address["postal_code"],
        "country": address["country"],
    }


def _transaction(payload: dict[str, Any]) -> dict[str, Any]:
    """Our sale as an AvaTax CreateTransactionModel; a SalesOrder is a quote, never recorded."""
    addresses = {
        "shipFrom": _address(payload["ship_from_address"]),
        "shipTo": _address(payload["ship_to_address"]),
    }
    if payload.get("ordered_at_address"):
        addresses["pointOfOrderOrigin"] = _address(payload["ordered_at_address"])
    if payload.get("accepted_at_address"):
        addresses["pointOfOrderAcceptance"] = _address(payload["accepted_at_address"])
    body: dict[str, Any] = {
        "type": "SalesOrder",
        "date": payload["date"].isoformat(),
        "customerCode": payload["customer_id"],
        "currencyCode": payload["currency"],
        "addresses": addresses,
        "lines": [_line(line) for line in payload["lines"]],
        "commit": False,
    }
    if payload.get("sale_id"):
        body["code"] = payload["sale_id"]
    if payload.get("salesperson_id"):
        body["salespersonCode"] = payload["salesperson_id"]
    return body


def _line(line: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "number": str(line["line_number"]),
        "quantity": line["quantity"],
        "amount": line["amount_total"],
    }
    for ours, theirs in (
        ("tax_code", "taxCode"),
        ("item_code", "itemCode"),
        ("description", "description"),
    ):
        if line.get(ours):
            item[theirs] = line[ours]
    return item


def _detail(detail: dict[str, Any]) -> dict[str, Any]:
    juris_type = str(detail["jurisType"])
    return {
        "rate": rate_str(decimal_of(detail["rate"])),
        "tax": amount_str(decimal_of(detail["tax"])),
        "tax_name": str(detail["taxName"]),
        "country": str(detail["country"]),
        "region": str(detail.get("region") or ""),
        "tax_type": str(detail["taxType"]),
        "jurisdiction": str(detail.get("jurisName") or ""),
        "jurisdiction_type": _JURIS_TYPES.get(juris_type, juris_type.lower()),
    }


@registry.provider
class AvaTax(ProviderAdapter):
    """AvaTax REST v2, https://developer.avalara.com/api-reference/avatax/rest/v2/.

    HTTP Basic with the account id and license key. `POST /api/v2/transactions/create` with
    `type: SalesOrder` (a quote: nothing is committed or reported), and
    `GET /api/v2/taxrates/byaddress`. Errors are `{"error": {"code", "message", "target",
    "details": [{"code", "number", "message", "description", "faultCode", "severity",
    "refersTo"}]}}`; faultCode "Client" with a 400 is the request's content.
    """

    key = "tax.avatax"
    display_name = "Avalara AvaTax"
    default_base_url = "https://rest.avatax.com"  # sandbox: https://sandbox-rest.avatax.com
    default_timeout_ms = 5000
    credential_fields = ("account_id", "license_key")
    countries = frozenset({"US"})

    def _auth(self) -> tuple[str, str]:
        return (self.config.credentials["account_id"], self.config.credentials["license_key"])

    async def health_probe(self) -> None:
        """`GET /api/v2/utilities/ping`: AvaTax answers and says our credentials authenticate."""
        response = await self.send("GET", "/api/v2/utilities/ping", auth=self._auth())
        self.raise_for_server_error(response)
        if response.status_code != 200:
            raise self.refusal(response.status_code, f"HTTP {response.status_code}")
        if self.json_of(response)["authenticated"] is not True:
            raise ProviderFault(OUTCOME_AUTH, "AvaTax does not accept the account id and key")

    @provides("taxes_for_sale")
    async def taxes_for_sale(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        response = await self.send(
            "POST",
            "/api/v2/transactions/create",
            content=json_body(_transaction(payload)),
            headers={"Content-Type": "application/json"},
            auth=self._auth(),
        )
        answer = self._answer(response, subject="ship_to_address")
        return {
            "total_tax": amount_str(decimal_of(answer["totalTax"])),
            "lines": [
                {
                    "line_number": int(line["lineNumber"]),
                    "tax": amount_str(decimal_of(line["tax"])),
                    "taxes": [_detail(detail) for detail in line["details"]],
                }
                for line in answer["lines"]
            ],
        }

    @provides("taxes_for_address")
    async def taxes_for_address(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        address = payload["address"]
        params = {
            "line1": address["line1"],
            "line2": address.get("line2") or "",
            "city": address["city"],
            "region": address.get("region") or "",
            "postalCode": address["postal_code"],
            "country": address["country"],
        }
        response = await self.send(
            "GET",
            "/api/v2/taxrates/byaddress",
            params={name: value for name, value in params.items() if value},
            auth=self._auth(),
        )
        answer = self._answer(response, subject="address")
        return {
            "total_rate": rate_str(decimal_of(answer["totalRate"])),
            "rates": [
                {
                    "rate": rate_str(decimal_of(rate["rate"])),
                    "jurisdiction": str(rate.get("name") or ""),
                    "jurisdiction_type": _JURIS_TYPES.get(str(rate["type"]), str(rate["type"])),
                }
                for rate in answer["rates"]
            ],
        }

    def _answer(self, response: httpx.Response, *, subject: str) -> Any:
        """The documented body of a success, or the error classified: fault or bad input.

        `subject` is the request field an address error is about.
        """
        self.raise_for_server_error(response)
        body = self.json_of(response)
        if response.status_code in (200, 201):
            return body
        error = body["error"]
        code = str(error.get("code", ""))
        detail = f"HTTP {response.status_code}, {code}: {error.get('message', '')}"
        if response.status_code in (401, 403):
            raise ProviderFault(OUTCOME_AUTH, detail)
        details = error.get("details") or [{}]
        first = details[0]
        if response.status_code in (400, 404, 422) and first.get("faultCode", "Client") == "Client":
            field = _field_of(code, first, error, subject)
            message = str(first.get("description") or first.get("message") or error["message"])
            raise InvalidInput(f"AvaTax refused the input: {message}", errors={field: [message]})
        raise ProviderFault(OUTCOME_HTTP_ERROR, detail)


def _field_of(code: str, detail: dict[str, Any], error: dict[str, Any], subject: str) -> str:
    """Which of our fields an AvaTax error is about, as far as its refersTo/target tell."""
    where = f"{detail.get('refersTo') or ''} {error.get('target') or ''}".lower()
    if "shipfrom" in where:
        return "ship_from_address"
    if "shipto" in where:
        return "ship_to_address"
    line = _LINE.search(where)
    if line and subject != "address":
        return f"lines.{line.group(1)}"
    if code in _ADDRESS_ERRORS or detail.get("code") in _ADDRESS_ERRORS:
        return subject
    return "non_field_errors"
