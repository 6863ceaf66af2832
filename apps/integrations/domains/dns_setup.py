"""Setting a bought domain's first DNS records at its registrar, outside any client call.

The registrar adapter is built from the provider row as ops configured it now (base URL,
timeout, credentials), like the active health checks do: the purchase call that asked for
the records is long over.
"""

from __future__ import annotations

import httpx
from asgiref.sync import async_to_sync

from apps.catalog.provider_configs import enabled_provider_config
from apps.catalog.providers import OUTCOME_MISCONFIGURED, CallContext, ProviderConfig, ProviderFault
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets
from apps.integrations.domains.models import Purchase


def initial_dns_apply(*, purchase_id: int) -> None:
    """Set the purchase's records; raises what the adapter raised (DomainNotReady: wait)."""
    purchase = Purchase.objects.select_related("intention__client", "account").get(pk=purchase_id)
    intention = purchase.intention
    config = enabled_provider_config(intention.provider)
    if config is None:
        raise ProviderFault(
            OUTCOME_MISCONFIGURED, f"registrar {intention.provider} is not enabled", sent=False
        )
    account = purchase.account.account if purchase.account is not None else None
    if isinstance(config.credentials, UnreadableSecrets) or isinstance(account, UnreadableSecrets):
        raise ProviderFault(OUTCOME_MISCONFIGURED, "secrets cannot be decrypted", sent=False)
    payload = {
        "domain": intention.domain,
        "records": purchase.dns_records,
        "account": dict(account) if account is not None else None,
    }
    context = CallContext(
        request_id=purchase.request_id,
        method="domains.set_dns",
        client=intention.client.slug,
        country="",
        pinned_provider=config.slug,
    )
    # A loop of its own: a worker (or eager mode under ASGI) must not share the server's.
    async_to_sync(_set_dns, force_new_loop=True)(config, payload, context)


async def _set_dns(config: ProviderConfig, payload: dict, context: CallContext) -> None:
    async with httpx.AsyncClient(headers={"User-Agent": "service-gateway/1.0"}) as http:
        adapter = registry.adapters[config.adapter](config, http)
        await adapter.call("set_dns", payload, context)
