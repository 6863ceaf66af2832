"""Writes to the catalog. Every write drops the cached snapshot."""

from django.db import transaction

from apps.catalog.models import Offering, Provider
from apps.core import state

CATALOG_VERSION = "catalog"


def catalog_cache_invalidate() -> None:
    """Bump the catalog version now and again once the transaction commits.

    The bump after commit keeps another process from caching, under the new version, a
    snapshot it read before this transaction was visible.
    """
    state.bump(CATALOG_VERSION)
    transaction.on_commit(lambda: state.bump(CATALOG_VERSION))


def offering_update(*, offering: Offering, priority: int, weight: int, enabled: bool) -> Offering:
    offering.priority, offering.weight, offering.enabled = priority, weight, enabled
    offering.full_clean()
    offering.save(update_fields=["priority", "weight", "enabled", "updated_at"])
    return offering


def provider_set_credentials(*, provider: Provider, credentials: dict[str, str]) -> Provider:
    """Store these secrets, for the provider's host and adapter as they are stored now."""
    provider.credentials = {k: v for k, v in credentials.items() if v}
    # The history row holds no secrets: its reason says what happened, and to which names.
    names = ", ".join(sorted(provider.credentials)) or "none"
    provider._change_reason = f"credentials set: {names}"[:100]
    try:
        provider.save(update_fields=["credentials", "updated_at"])
    finally:
        del provider._change_reason
    return provider
