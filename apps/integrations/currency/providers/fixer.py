"""Fixer (fixer.io, an apilayer product): rates from the European Central Bank and others."""

from decimal import Decimal
from typing import Any

from apps.catalog.providers import CallContext, provides
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx
from apps.integrations.currency.providers.apilayer import ApilayerAdapter


@registry.provider
class Fixer(ApilayerAdapter):
    """Fixer API, https://fixer.io/documentation.

    Endpoints: `GET /latest?access_key=&base=&symbols=` and
    `GET /convert?access_key=&from=&to=&amount=`; the health probe is
    `GET /symbols?access_key=` (the supported currencies). Errors come as HTTP 200 with
    `{"success": false, "error": {"code": ...}}`: 101 missing or invalid key, 102 inactive
    account, 103 unknown endpoint, 104 monthly limit reached, 105 not on the plan (a base
    other than EUR on the free plan), 106 no results are provider faults; 201 invalid base,
    202 invalid symbols, 301/302 invalid or missing date, 401/402 invalid from/to, 403 invalid
    amount are the client's input.
    """

    key = "currency.fixer"
    display_name = "Fixer"
    default_base_url = "https://data.fixer.io/api"
    currencies_endpoint, currencies_field = "symbols", "symbols"

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        base, symbols = payload["base"], payload.get("symbols")
        params = {"base": base, **({"symbols": ",".join(symbols)} if symbols else {})}
        body = await self.fetch("latest", params)
        return fx.latest_rates(
            base=base,
            date=fx.iso_date(body["date"]),
            rates=fx.shown_against(body["rates"], body["base"], base),
            symbols=symbols,
        )

    def conversion_of(self, body: dict[str, Any]) -> tuple[Decimal, str]:
        return fx.to_decimal(body["info"]["rate"]), fx.iso_date(body["date"])
