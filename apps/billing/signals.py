from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.billing.models import (
    ClientPrice,
    ClientRateLimit,
    CountryPrice,
    Plan,
    PlanRateLimit,
    Price,
)
from apps.catalog.services import catalog_cache_invalidate


def _invalidate(sender: type, **kwargs: Any) -> None:
    catalog_cache_invalidate()


# Prices and limits are part of the snapshot every call reads (apps.gateway.snapshot).
for _model in (Plan, Price, CountryPrice, ClientPrice, PlanRateLimit, ClientRateLimit):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"billing-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"billing-del-{_model.__name__}")
