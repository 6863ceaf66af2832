"""currencylayer (an apilayer product): live rates quoted as source+target currency pairs."""

from decimal import Decimal
from typing import Any

from apps.catalog.providers import CallContext, provides
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx
from apps.integrations.currency.providers.apilayer import ApilayerAdapter


@registry.provider
class Currencylayer(ApilayerAdapter):
    """currencylayer API, https://currencylayer.com/documentation.

    Endpoints: `GET /live?access_key=&source=&currencies=`, answering quotes keyed by pair
    (`"USDEUR": 0.9`) and a Unix timestamp, and `GET /convert?access_key=&from=&to=&amount=`;
    the health probe is `GET /list?access_key=` (the supported currencies).
    Errors come as HTTP 200 with `{"success": false, "error": {"code": ...}}`: 101 missing or
    invalid key, 102 inactive account, 104 monthly limit reached, 105 not on the plan (a
    source other than USD on the free plan) are provider faults; 201 invalid source currency,
    202 invalid currency codes, 401/402 invalid from/to, 403 invalid amount are the client's.
    """

    key = "currency.currencylayer"
    display_name = "currencylayer"
    default_base_url = "https://api.currencylayer.com"
    currencies_endpoint, currencies_field = "list", "currencies"

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        base, symbols = payload["base"], payload.get("symbols")
        params = {"source": base, **({"currencies": ",".join(symbols)} if symbols else {})}
        body = await self.fetch("live", params)
        source = body["source"]
        return fx.latest_rates(
            base=base,
            date=fx.utc_date(body["timestamp"]),
            rates=fx.rebase(_unpaired(body["quotes"], source), source, base),
            symbols=symbols,
        )

    def conversion_of(self, body: dict[str, Any]) -> tuple[Decimal, str]:
        return fx.to_decimal(body["info"]["quote"]), fx.utc_date(body["info"]["timestamp"])


def _unpaired(quotes: dict[str, Any], source: str) -> dict[str, Decimal]:
    """{"USDEUR": 0.9} quoted from USD -> {"EUR": Decimal("0.9")}."""
    return {
        pair[len(source) :]: fx.to_decimal(value)
        for pair, value in quotes.items()
        if pair.startswith(source) and len(pair) > len(source)
    }
