"""A change to a client or key reaches every process at once (revocation is immediate)."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from apps.accounts.models import Client, ClientApiKey
from apps.core import state

PRINCIPALS_VERSION = "principals"


def principals_cache_invalidate() -> None:
    state.bump(PRINCIPALS_VERSION)
    transaction.on_commit(lambda: state.bump(PRINCIPALS_VERSION))


def _invalidate(sender: type, **kwargs: Any) -> None:
    if kwargs.get("update_fields") == frozenset({"balance"}):
        return  # balances move on every call and are never cached
    principals_cache_invalidate()


for _model in (Client, ClientApiKey):
    post_save.connect(_invalidate, sender=_model, dispatch_uid=f"accounts-save-{_model.__name__}")
    post_delete.connect(_invalidate, sender=_model, dispatch_uid=f"accounts-del-{_model.__name__}")
