"""An offline provider with fixed, plausible rates: the demo and tests work without network."""

from decimal import Decimal
from typing import Any

from django.utils import timezone

from apps.catalog.providers import CallContext, ProviderAdapter, provides
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx

# Units per one EUR. Fixed on purpose: answers are deterministic.
SANDBOX_RATES_EUR = {
    "AUD": "1.6502", "BRL": "5.8931", "CAD": "1.5124", "CHF": "0.9412", "CNY": "7.8120",
    "CZK": "25.113", "DKK": "7.4589", "GBP": "0.8455", "HKD": "8.4120", "HUF": "395.40",
    "INR": "90.512", "JPY": "161.84", "KRW": "1502.3", "MXN": "20.214", "NOK": "11.762",
    "NZD": "1.8231", "PLN": "4.2635", "SEK": "11.342", "SGD": "1.4521", "TRY": "37.125",
    "USD": "1.0823", "ZAR": "19.812",
}  # fmt: skip


@registry.provider
class SandboxRates(ProviderAdapter):
    key = "currency.sandbox"
    display_name = "Sandbox rates (offline, fixed)"
    default_base_url = "sandbox://rates"
    default_timeout_ms = 500

    def _table(self, base: str, field: str = "base") -> dict[str, Decimal]:
        table = {code: Decimal(value) for code, value in SANDBOX_RATES_EUR.items()}
        return fx.rebase(table, "EUR", base, field=field)

    async def health_probe(self) -> None:
        return None  # offline: always answers

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        base = payload["base"]
        return fx.latest_rates(
            base=base,
            date=timezone.now().date().isoformat(),
            rates=self._table(base),
            symbols=payload.get("symbols"),
        )

    @provides("convert")
    async def convert(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        table = self._table(payload["from"], field="from")
        rate = fx.pick(table, [payload["to"]], field="to")[payload["to"]]
        return fx.conversion(
            source=payload["from"],
            target=payload["to"],
            amount=payload["amount"],
            rate=rate,
            date=timezone.now().date().isoformat(),
        )
