"""The European Central Bank's daily euro foreign exchange reference rates (free, no key)."""

from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

from apps.catalog.providers import (
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    CallContext,
    ProviderAdapter,
    ProviderFault,
    provides,
)
from apps.catalog.registry import registry
from apps.integrations.currency import rates as fx

_NS = {"eurofxref": "http://www.ecb.int/vocabulary/2002-08-01/eurofxref"}


@registry.provider
class EuropeanCentralBank(ProviderAdapter):
    """ECB euro reference rates, https://www.ecb.europa.eu/stats/eurofxref/.

    Endpoint: `GET /eurofxref-daily.xml`, a gesmes:Envelope whose
    `<Cube><Cube time="YYYY-MM-DD"><Cube currency="USD" rate="1.0823"/>...` lists about 30
    currencies per one EUR, published once per working day. Other bases are cross rates.
    It has no error codes: any non-200 status or unparseable XML is a provider fault; a
    currency missing from the table is the client's input.
    """

    key = "currency.ecb"
    display_name = "European Central Bank"
    default_base_url = "https://www.ecb.europa.eu/stats/eurofxref"

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        base = payload["base"]
        date, table = await self._daily()
        return fx.latest_rates(
            base=base,
            date=date,
            rates=fx.rebase(table, "EUR", base),
            symbols=payload.get("symbols"),
        )

    @provides("convert")
    async def convert(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        source, target = payload["from"], payload["to"]
        date, table = await self._daily()
        rates = fx.rebase(table, "EUR", source, field="from")
        return fx.conversion(
            source=source,
            target=target,
            amount=payload["amount"],
            rate=fx.pick(rates, [target], field="to")[target],
            date=date,
        )

    async def health_probe(self) -> None:
        await self._daily()  # the whole daily file is about 2 kB

    async def _daily(self) -> tuple[str, dict[str, Decimal]]:
        """The publication date and the rates per one EUR."""
        response = await self.send("GET", "eurofxref-daily.xml")
        self.raise_for_server_error(response)
        if response.status_code != 200:
            raise ProviderFault(OUTCOME_HTTP_ERROR, f"HTTP {response.status_code}")
        try:
            # The bundled expat (>= 2.4.1) refuses entity-expansion bombs; ElementTree never
            # fetches external entities.
            envelope = ElementTree.fromstring(response.content)  # noqa: S314
        except ElementTree.ParseError as exc:
            raise ProviderFault(OUTCOME_MALFORMED, "answer not XML") from exc
        day = envelope.find("eurofxref:Cube/eurofxref:Cube[@time]", _NS)
        if day is None:
            raise ProviderFault(OUTCOME_MALFORMED, "no dated Cube in the answer")
        table = {
            cube.attrib["currency"]: fx.to_decimal(cube.attrib["rate"])
            for cube in day.findall("eurofxref:Cube", _NS)
        }
        if not table:
            raise ProviderFault(OUTCOME_MALFORMED, "no rates in the answer")
        return fx.iso_date(day.attrib["time"]), table
