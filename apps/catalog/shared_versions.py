"""The version counters of apps.core.state, kept in the database for runs without Redis.

One row per counter (catalog, principals), bumped in the transaction that makes the change,
so another process sees the new version exactly when it can see the change itself.
"""

from django.db import transaction
from django.db.models import F

from apps.catalog.models import SharedVersion


def shared_version_bump(*, name: str) -> None:
    """Add one to the counter `name` (in the caller's transaction, if there is one)."""
    with transaction.atomic():
        if not SharedVersion.objects.filter(name=name).update(value=F("value") + 1):
            SharedVersion.objects.get_or_create(name=name)
            SharedVersion.objects.filter(name=name).update(value=F("value") + 1)


def shared_versions_read() -> dict[str, int]:
    """Every counter, by name: one query."""
    return dict(SharedVersion.objects.values_list("name", "value"))
