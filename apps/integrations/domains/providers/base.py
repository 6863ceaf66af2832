"""What every registrar adapter shares: the TLDs it sells, and the echo of a submitted form."""

from __future__ import annotations

from typing import Any, ClassVar

from apps.catalog.providers import CallContext, InvalidInput, ProviderAdapter
from apps.integrations.domains.names import tld_of

# What the service needs back from a purchase to record it, whatever the registrar answered.
SUBMITTED_KEYS = (
    "intention_id",
    "period",
    "registrant_contact",
    "agreed_agreements",
    "dns_records",
)


class RegistrarAdapter(ProviderAdapter):
    """Base of the registrar adapters (see the contract in apps.integrations.domains.service).

    `tlds`: the TLDs the registrar sells through us (None: any). A domain under another TLD is
    answered `available: False` by the availability methods without asking the registrar, and
    refused as invalid input by the others.
    """

    tlds: ClassVar[frozenset[str] | None] = None
    default_timeout_ms = 10000  # purchases take seconds at registrars

    def sells(self, domain: str) -> bool:
        return self.tlds is None or tld_of(domain) in self.tlds

    async def call(
        self, method_name: str, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        domain = payload.get("domain", "")
        if domain and not self.sells(domain):
            if method_name in ("check_availability", "create_registration_intention"):
                return {"domain": domain, "available": False, "price": None, "currency": None}
            raise InvalidInput(
                f"{self.config.slug} does not sell .{tld_of(domain)} domains.",
                errors={"domain": [f".{tld_of(domain)} is not sold by {self.config.slug}."]},
            )
        answer = await super().call(method_name, payload, context)
        if method_name == "submit_registration_intention":
            # on_recorded gets the answer only: what it records of the submitted form.
            answer["submitted"] = {k: payload.get(k) for k in SUBMITTED_KEYS}
        return answer
