"""What fixer and currencylayer share: both are apilayer products with one error convention.

They authenticate with an `access_key` query parameter and answer most errors with HTTP 200
and `{"success": false, "error": {"code": 101, "type": "missing_access_key", "info": "..."}}`.
Both convert with `GET /convert?access_key=&from=&to=&amount=` and list their currencies on
an endpoint the health probe asks; each names the rate and date of a conversion its own way.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_MALFORMED,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    CallContext,
    InvalidInput,
    ProviderAdapter,
    ProviderFault,
    provides,
)
from apps.integrations.currency import rates as fx

# Documented codes that say the client's input is wrong: the input each names, and why.
_INVALID_INPUT = {
    201: ("base", "Unknown or unsupported base currency."),
    202: ("symbols", "One or more unknown currency codes."),
    301: ("date", "Invalid date."),
    302: ("date", "No date given."),
    401: ("from", "Unknown or unsupported currency."),
    402: ("to", "Unknown or unsupported currency."),
    403: ("amount", "Invalid amount."),
}
# Every other code (103 unknown endpoint, 105 not on our plan, 106 no results, 404...) is the
# provider's trouble or our account's, never the client's.
_FAULTS = {101: OUTCOME_AUTH, 102: OUTCOME_AUTH, 104: OUTCOME_QUOTA}

# On convert there is no `base` or `symbols`: name the inputs the client did send.
CONVERT_FIELDS = {201: "from", 202: "non_field_errors"}


class ApilayerAdapter(ProviderAdapter):
    """Base of the apilayer currency adapters: the access key, the error classifier, the
    conversion and the health probe.

    A vendor sets `currencies_endpoint` and `currencies_field` (where its supported
    currencies are listed) and `conversion_of` (the rate and date of a /convert answer).
    """

    credential_fields = ("access_key",)
    currencies_endpoint: ClassVar[str]
    currencies_field: ClassVar[str]

    @provides("convert")
    async def convert(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        source, target, amount = payload["from"], payload["to"], payload["amount"]
        params = {"from": source, "to": target, "amount": f"{amount:f}"}
        body = await self.fetch("convert", params, fields=CONVERT_FIELDS)
        rate, date = self.conversion_of(body)
        # The vendor's own `result` is a float: recompute it from the rate, in Decimal.
        return fx.conversion(source=source, target=target, amount=amount, rate=rate, date=date)

    def conversion_of(self, body: dict[str, Any]) -> tuple[Decimal, str]:
        """The rate and the date of a successful /convert answer."""
        raise NotImplementedError

    async def health_probe(self) -> None:
        body = await self.fetch(self.currencies_endpoint, {})
        if not body[self.currencies_field]:
            raise ProviderFault(OUTCOME_OUTAGE, "no currencies listed")

    async def fetch(
        self, path: str, params: dict[str, str], *, fields: Mapping[int, str] | None = None
    ) -> dict[str, Any]:
        """GET one endpoint; the body of a successful answer, or the error classified.

        `fields` renames the input an invalid-input code names, for the method at hand.
        """
        response = await self.send(
            "GET", path, params={"access_key": self.config.credentials["access_key"], **params}
        )
        self.raise_for_server_error(response)
        body = self.json_of(response)
        if not isinstance(body, dict):
            raise ProviderFault(OUTCOME_MALFORMED, "the answer is not a JSON object")
        if body.get("success") is False:
            raise _classify(body["error"], fields or {})
        if response.status_code != 200:
            raise self.refusal(response.status_code, f"HTTP {response.status_code}")
        return body


def _classify(error: dict[str, Any], fields: Mapping[int, str]) -> Exception:
    code = error["code"]
    if code in _INVALID_INPUT:
        field, message = _INVALID_INPUT[code]
        return InvalidInput(message, errors={fields.get(code, field): [message]})
    detail = f"error {code} {error.get('type', '')}: {error.get('info', '')}"
    return ProviderFault(_FAULTS.get(code, OUTCOME_OUTAGE), detail)
