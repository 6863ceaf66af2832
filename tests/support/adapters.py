"""Adapters that exist only in tests (put into the registry by a test's fixture)."""

from typing import Any

from apps.catalog.providers import ProviderAdapter, provides


class VendorRates(ProviderAdapter):
    """A test adapter that needs two secrets and serves only latest_rates."""

    key = "currency.testvendor"
    service = "currency"
    default_slug = "testvendor"
    display_name = "Test vendor"
    credential_fields = ("access_key", "secret_key")

    @provides("latest_rates")
    async def latest_rates(self, payload: dict[str, Any], context: Any) -> dict[str, Any]:
        return {}
