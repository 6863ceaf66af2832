from typing import Any

from django.db.models.signals import post_delete, post_save

from apps.billing.models import Plan, Price
from apps.catalog.services import catalog_cache_invalidate


def _invalidate(sender: type, **kwargs: Any) -> None:
    catalog_cache_invalidate()


for _model in (Plan, Price):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"billing-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"billing-del-{_model.__name__}")
