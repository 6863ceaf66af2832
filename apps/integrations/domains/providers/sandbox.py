"""An offline registrar for the demo and development. NOT FOR PRODUCTION: it registers
nothing anywhere, yet answers every method as a registrar would."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from apps.catalog.providers import CallContext, provides
from apps.catalog.registry import registry
from apps.integrations.domains.names import tld_of
from apps.integrations.domains.providers.base import RegistrarAdapter

# Yearly prices, in USD; other TLDs cost DEFAULT_PRICE.
PRICES = {"com": Decimal("9.99"), "net": Decimal("11.99"), "org": Decimal("10.99")}
DEFAULT_PRICE = Decimal("14.99")
# Names whose first label starts with this are "taken": the demo shows both answers.
TAKEN_PREFIX = "taken"


def _price(domain: str) -> Decimal:
    return PRICES.get(tld_of(domain), DEFAULT_PRICE)


def _order_id(*parts: object) -> str:
    return "sandbox-" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:12]


@registry.provider
class SandboxRegistrar(RegistrarAdapter):
    """Deterministic answers: a name is available unless it starts with "taken"."""

    key = "domains.sandbox"
    default_slug = "domains-sandbox"
    display_name = "Sandbox registrar (offline, registers nothing; not for production)"
    default_base_url = "sandbox://registrar"
    default_timeout_ms = 1000

    @provides("check_availability")
    async def check_availability(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        domain = payload["domain"]
        if domain.startswith(TAKEN_PREFIX):
            return {"domain": domain, "available": False, "price": None, "currency": None}
        return {"domain": domain, "available": True, "price": _price(domain), "currency": "USD"}

    @provides("create_registration_intention")
    async def create_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        offer = await self.check_availability(payload, context)
        return {**offer, "schema_extra": {"properties": {}, "required": []}}

    @provides("submit_registration_intention")
    async def submit_registration_intention(
        self, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        domain, period = payload["domain"], int(payload["period"])
        return {
            "domain": domain,
            "registered": True,
            "order_id": _order_id(domain, payload["intention_id"]),
            "total": _price(domain) * period,
            "currency": "USD",
            "account": None,
        }

    @provides("get")
    async def get(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        return {
            "domain": payload["domain"],
            "status": "ACTIVE",
            "expires_at": None,
            "renew_auto": False,
            "nameservers": ["ns1.sandbox.invalid", "ns2.sandbox.invalid"],
        }

    @provides("renew")
    async def renew(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        domain, period = payload["domain"], int(payload["period"])
        return {
            "domain": domain,
            "order_id": _order_id(domain, "renew", context.request_id),
            "total": _price(domain) * period,
            "currency": "USD",
        }

    @provides("set_dns")
    async def set_dns(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        return {"domain": payload["domain"], "records": payload["records"]}
