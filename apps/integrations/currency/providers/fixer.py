"""Fixer (fixer.io, an apilayer product): rates from the European Central Bank and others."""

from typing import Any

from apps.catalog.providers import OUTCOME_OUTAGE, CallContext, ProviderFault, provides
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx
from apps.integrations.currency.providers.apilayer import CONVERT_FIELDS, ApilayerAdapter


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
    service = "currency"
    default_slug = "fixer"
    display_name = "Fixer"
    default_base_url = "https://data.fixer.io/api"

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

    async def health_probe(self) -> None:
        body = await self.fetch("symbols", {})
        if not body["symbols"]:
            raise ProviderFault(OUTCOME_OUTAGE, "no currencies listed")

    @provides("convert")
    async def convert(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        source, target, amount = payload["from"], payload["to"], payload["amount"]
        params = {"from": source, "to": target, "amount": f"{amount:f}"}
        body = await self.fetch("convert", params, fields=CONVERT_FIELDS)
        # Fixer's own `result` is a float: recompute it from the rate, in Decimal.
        return fx.conversion(
            source=source,
            target=target,
            amount=amount,
            rate=fx.to_decimal(body["info"]["rate"]),
            date=fx.iso_date(body["date"]),
        )
