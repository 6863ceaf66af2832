"""Any change to what routing and pricing read drops every process's cached snapshot."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.catalog.models import (
    Method,
    Offering,
    OfferingCountryCost,
    Provider,
    RoutingPolicy,
    Service,
)
from apps.catalog.secret_mask import provider_secrets_refresh
from apps.catalog.services import catalog_cache_invalidate


def _invalidate(sender: type, **kwargs: Any) -> None:
    catalog_cache_invalidate()


for _model in (Service, Method, Provider, Offering, OfferingCountryCost, RoutingPolicy):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"catalog-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"catalog-del-{_model.__name__}")


def _secrets_changed(sender: type, **kwargs: Any) -> None:
    # This process masks a new credential in its logs at once, not at its next snapshot.
    transaction.on_commit(provider_secrets_refresh)


post_save.connect(_secrets_changed, sender=Provider, dispatch_uid="catalog-secrets-save")
post_delete.connect(_secrets_changed, sender=Provider, dispatch_uid="catalog-secrets-del")
