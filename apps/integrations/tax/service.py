"""The tax service: sales tax for a sale, and the rates in force at an address.

A sale is taxed by a provider of its ship-to country (the original DomesticSaleStrategy):
the prepare hooks route each call to the offerings whose adapter declares that country, with
failover among them; a country no provider serves is a 503 naming it (the original gave 500).
"""

from typing import Any

from apps.catalog.registry import MethodSpec, Preparation, ServiceDefinition, registry
from apps.integrations.tax.responses import TaxesForAddressResponse, TaxesForSaleResponse
from apps.integrations.tax.schemas import TaxesForAddressRequest, TaxesForSaleRequest


def route_by_ship_to(payload: dict[str, Any], client_id: int) -> Preparation:
    """A sale is taxed where the goods go."""
    return Preparation(route_country=payload["ship_to_address"]["country"])


def route_by_address(payload: dict[str, Any], client_id: int) -> Preparation:
    return Preparation(route_country=payload["address"]["country"])


@registry.service
class TaxService(ServiceDefinition):
    slug = "tax"
    name = "Sales tax"
    description = "Sales tax and VAT for a sale or an address, from AvaTax or TaxJar."

    taxes_for_sale = MethodSpec(
        request=TaxesForSaleRequest,
        response=TaxesForSaleResponse,
        summary="Taxes for a sale",
        description=(
            "The taxes on each line of a sale, by jurisdiction, and their total. Quoted only: "
            "nothing is recorded at the provider (AvaTax SalesOrder, TaxJar /v2/taxes). Served "
            "by a provider of the ship-to country."
        ),
        idempotent=True,
        prepare=route_by_ship_to,
    )
    taxes_for_address = MethodSpec(
        request=TaxesForAddressRequest,
        response=TaxesForAddressResponse,
        summary="Tax rates at an address",
        description=(
            "The combined sales tax rate at an address and, where the provider breaks it down, "
            "the rate of each jurisdiction. Served by a provider of the address's country."
        ),
        idempotent=True,
        cacheable=True,
        prepare=route_by_address,
    )
