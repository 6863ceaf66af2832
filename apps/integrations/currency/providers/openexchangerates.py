"""Open Exchange Rates (openexchangerates.org): rates from many sources, USD-based by default."""

from typing import Any

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    CallContext,
    InvalidInput,
    ProviderAdapter,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx


@registry.provider
class OpenExchangeRates(ProviderAdapter):
    """Open Exchange Rates API, https://docs.openexchangerates.org.

    Endpoint: `GET /latest.json?app_id=&base=&symbols=`; convert is computed from it too,
    because `/convert` needs the Unlimited plan. The health probe is `GET /usage.json?app_id=`
    (the account's status; it does not count against the quota). Errors are real HTTP statuses with
    `{"error": true, "status": 401, "message": "invalid_app_id", "description": "..."}`:
    401 missing_app_id / invalid_app_id, 403 access_restricted / not_allowed, 404 not_found,
    429 (too many requests or not allowed) and 5xx are provider faults; 400 invalid_base is
    the client's input.
    """

    key = "currency.openexchangerates"
    display_name = "Open Exchange Rates"
    default_base_url = "https://openexchangerates.org/api"
    credential_fields = ("app_id",)

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        base, symbols = payload["base"], payload.get("symbols")
        body = await self._latest(base, symbols, base_field="base")
        return fx.latest_rates(
            base=base,
            date=fx.utc_date(body["timestamp"]),
            rates=fx.shown_against(body["rates"], body["base"], base),
            symbols=symbols,
        )

    @provides("convert")
    async def convert(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        source, target = payload["from"], payload["to"]
        body = await self._latest(source, [target], base_field="from")
        table = fx.rebase(fx.decimals(body["rates"]), body["base"], source, field="from")
        return fx.conversion(
            source=source,
            target=target,
            amount=payload["amount"],
            rate=fx.pick(table, [target], field="to")[target],
            date=fx.utc_date(body["timestamp"]),
        )

    async def health_probe(self) -> None:
        body = await self._get("usage.json", {"app_id": self.config.credentials["app_id"]})
        status = body["data"]["status"]
        if status != "active":
            raise ProviderFault(OUTCOME_AUTH, f"account status {status!r}")

    async def _latest(
        self, base: str, symbols: list[str] | None, *, base_field: str
    ) -> dict[str, Any]:
        params = {"app_id": self.config.credentials["app_id"], "base": base}
        if symbols:
            params["symbols"] = ",".join(symbols)
        try:
            return await self._get("latest.json", params)
        except _Refused as refused:
            if refused.status == 400 and refused.message == "invalid_base":
                error = f"Unknown or unsupported base currency: {base}"
                raise InvalidInput(error, errors={base_field: [error]}) from None
            raise

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """The body of a successful answer; a documented error raises _Refused."""
        response = await self.send("GET", path, params=params)
        self.raise_for_server_error(response)
        body = self.json_of(response)
        if not isinstance(body, dict):
            raise ProviderFault(OUTCOME_MALFORMED, "the answer is not a JSON object")
        if response.status_code == 200 and not body.get("error"):
            return body
        message = body.get("message", "")
        outcome = OUTCOME_AUTH if response.status_code in (401, 403) else OUTCOME_HTTP_ERROR
        detail = f"HTTP {response.status_code} {message}: {body.get('description', '')}"
        raise _Refused(outcome, detail, status=response.status_code, message=message)


class _Refused(ProviderFault):
    """A documented error answer: a fault, unless the caller finds it names the input."""

    def __init__(self, outcome: str, detail: str, *, status: int, message: str) -> None:
        super().__init__(outcome, detail)
        self.status, self.message = status, message
