"""The version counters of apps.core.state, kept in the database for runs without Redis.

One row per counter (catalog, principals), bumped in the transaction that makes the change,
so another process sees the new version exactly when it can see the change itself.
"""

from django.db import models, transaction
from django.db.models import F


class SharedVersion(models.Model):
    """A version counter (apps.core.state) that every process can read without Redis.

    Without REDIS_URL each change to the catalog, plans or clients also bumps its row here,
    in the transaction that makes the change, so a change made by another process
    (`gateway_apply`, a management command, another server worker) reaches this one within
    GATEWAY_SHARED_VERSIONS_TTL_S. With Redis the counters live there instead.
    """

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"


def shared_version_bump(*, name: str) -> None:
    """Add one to the counter `name` (in the caller's transaction, if there is one)."""
    with transaction.atomic():
        if not SharedVersion.objects.filter(name=name).update(value=F("value") + 1):
            SharedVersion.objects.get_or_create(name=name)
            SharedVersion.objects.filter(name=name).update(value=F("value") + 1)


def shared_versions_read() -> dict[str, int]:
    """Every counter, by name: one query."""
    return dict(SharedVersion.objects.values_list("name", "value"))
