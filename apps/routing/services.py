"""What ops do to routing: force breakers open (drain) or closed, or back to automatic."""

from collections.abc import Iterable

from apps.catalog.models import Offering
from apps.catalog.services import catalog_cache_invalidate
from apps.routing import breakers

MODES = (breakers.FORCE_OPEN, breakers.FORCE_CLOSED, breakers.AUTOMATIC)


def offering_breaker_force(*, offering_ids: Iterable[int], mode: str) -> int:
    """Force the breakers of these offerings open (drain), closed, or back to automatic.

    The mode is kept on the offering rows and reaches every process with the catalog, so a
    drain survives a Redis restart and holds while Redis is unreachable. Back to automatic
    starts from a clean slate: the breaker forgets its faults and cooldowns. Returns how many
    offerings changed.
    """
    if mode not in MODES:
        raise ValueError(f"unknown breaker mode {mode!r}")
    ids = list(offering_ids)
    changed = Offering.objects.filter(pk__in=ids).exclude(breaker_forced=mode)
    updated = 0
    # One save per row, not a bulk update: the audit history records who drained what.
    for offering in changed:
        offering.breaker_forced = mode
        offering.save(update_fields=["breaker_forced", "updated_at"])
        updated += 1
    catalog_cache_invalidate()
    if mode == breakers.AUTOMATIC:
        breakers.breaker_reset(ids)
    return updated
