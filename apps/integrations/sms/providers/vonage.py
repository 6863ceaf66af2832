"""Vonage (formerly Nexmo) SMS API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    OUTCOME_OUTAGE,
    OUTCOME_QUOTA,
    CallContext,
    InvalidInput,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.sms.segments import is_gsm7
from apps.messaging.adapters import MessagingAdapter

# Documented statuses (https://developer.vonage.com/en/messaging/sms/guides/troubleshooting-sms)
# about the client's input, and the input each is about.
_INVALID_INPUT = {
    "2": "non_field_errors",  # Missing parameters
    "3": "non_field_errors",  # Invalid parameters
    "6": "body",  # Invalid message (unroutable)
    "7": "to_number",  # Number barred
    "12": "body",  # Message too long
    "15": "sender",  # Invalid sender address
    "33": "to_number",  # Number de-activated
}
_FAULTS = {
    "1": OUTCOME_QUOTA,  # Throttled
    "4": OUTCOME_AUTH,  # Invalid credentials
    "5": OUTCOME_OUTAGE,  # Internal error
    "8": OUTCOME_AUTH,  # Partner account barred
    "9": OUTCOME_QUOTA,  # Partner quota violation: not enough credit
    "11": OUTCOME_MISCONFIGURED,  # Account not enabled for HTTP
    "14": OUTCOME_AUTH,  # Invalid signature
    "29": OUTCOME_MISCONFIGURED,  # Non-whitelisted destination (a trial account)
}


@registry.provider
class Vonage(MessagingAdapter):
    """Vonage SMS API, https://developer.vonage.com/en/api/sms.

    `POST /sms/json`, form-encoded api_key, api_secret, from, to (E.164 without the +),
    text, and type=unicode for text outside the GSM alphabet. Always 200: each part has a
    `status` ("0" is success) and, on success, its `message-id`; `message-count` is the
    number of parts.
    """

    key = "sms.vonage"
    display_name = "Vonage"
    default_base_url = "https://rest.nexmo.com"
    default_timeout_ms = 5000
    credential_fields = ("api_key", "api_secret")
    required_credentials = ("api_key", "api_secret")

    async def health_probe(self) -> None:
        """`GET /account/get-balance`: Vonage answers, the key is good, there is credit."""
        credentials = self.config.credentials
        response = await self.send(
            "GET",
            "/account/get-balance",
            params={"api_key": credentials["api_key"], "api_secret": credentials["api_secret"]},
        )
        self.raise_for_server_error(response)
        if response.status_code != 200:
            raise self.refusal(response.status_code, f"HTTP {response.status_code}")
        if Decimal(str(self.json_of(response)["value"])) <= 0:
            raise ProviderFault(OUTCOME_QUOTA, "the account has no credit left")

    @provides("send")
    async def send_sms(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        credentials = self.config.credentials
        form = {
            "api_key": credentials["api_key"],
            "api_secret": credentials["api_secret"],
            "from": payload["sender"].removeprefix("+"),
            "to": payload["to_number"].removeprefix("+"),
            "text": payload["body"],
        }
        if not is_gsm7(payload["body"]):
            form["type"] = "unicode"
        response = await self.send("POST", "/sms/json", data=form)
        self.raise_for_server_error(response)
        if response.status_code != 200:
            raise self.refusal(response.status_code, f"HTTP {response.status_code}")
        answer = self.json_of(response)
        parts = answer["messages"]
        failed = next((p for p in parts if str(p["status"]) != "0"), None)
        if failed is None:
            return {
                "accepted": True,
                "message_id": str(parts[0]["message-id"]),
                "segments": int(answer["message-count"]),
            }
        status, text = str(failed["status"]), str(failed.get("error-text", ""))
        if status in _INVALID_INPUT:
            raise InvalidInput(
                f"Vonage refused the message: {text}", errors={_INVALID_INPUT[status]: [text]}
            )
        detail = f"status {status}: {text}"
        raise ProviderFault(_FAULTS.get(status, OUTCOME_HTTP_ERROR), detail)
