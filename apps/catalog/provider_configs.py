"""A provider's configuration as ops set it now, for work at one provider outside any call.

The call path reads providers from the routing snapshot. A background job that acts at one
provider later (a registrar setting a bought domain's first DNS records) asks here, so that
the integrations never read the catalog's rows themselves.
"""

from __future__ import annotations

from apps.catalog.models import Provider
from apps.catalog.providers import ProviderConfig
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets


def enabled_provider_config(slug: str) -> ProviderConfig | None:
    """The provider's current configuration; None when it is unknown, disabled, or of an
    adapter this code does not have.

    Credentials no configured key can decrypt come as they are read (UnreadableSecrets, an
    empty mapping): the caller decides what that means for its work.
    """
    provider = Provider.objects.filter(slug=slug).first()
    if provider is None or not provider.enabled or provider.adapter not in registry.adapters:
        return None
    credentials = provider.credentials
    if not isinstance(credentials, UnreadableSecrets):
        credentials = dict(credentials)
    return ProviderConfig(
        slug=provider.slug,
        adapter=provider.adapter,
        base_url=provider.base_url,
        timeout_ms=provider.timeout_ms,
        credentials=credentials,
    )
