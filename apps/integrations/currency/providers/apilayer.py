"""What fixer and currencylayer share: both are apilayer products with one error convention.

They authenticate with an `access_key` query parameter and answer most errors with HTTP 200
and `{"success": false, "error": {"code": 101, "type": "missing_access_key", "info": "..."}}`.
"""

from collections.abc import Mapping
from typing import Any

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_MALFORMED,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderAdapter,
    ProviderFault,
)

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
    """Base of the apilayer currency adapters: the access key and the error classifier."""

    credential_fields = ("access_key",)

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
