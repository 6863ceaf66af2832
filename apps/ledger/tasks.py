"""Ledger tasks run by Celery beat."""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.ledger.dangling import dangling_holds_release
from apps.ledger.months import ledger_months_close
from apps.ledger.partitions import ledger_default_partition_rows, ledger_partitions_ensure

logger = logging.getLogger(__name__)


@shared_task(name="ledger.release_dangling_holds", time_limit=300, soft_time_limit=280)
def release_dangling_holds() -> int:
    """Release the credit holds of calls whose process died; returns how many."""
    age = timedelta(seconds=settings.GATEWAY_DANGLING_HOLD_AGE_S)
    return dangling_holds_release(older_than=age).holds_released


@shared_task(name="ledger.partitions_maintain", time_limit=600, soft_time_limit=580)
def partitions_maintain() -> dict[str, object]:
    """Keep the ledger's monthly partitions LEDGER_PARTITIONS_AHEAD months ahead (PostgreSQL),
    and warn when the default partition holds rows: their months have no partition (beat
    did not run for months, or rows were written with far-off times)."""
    created = ledger_partitions_ensure()
    if created:
        logger.info("ledger partitions created: %s", ", ".join(created))
    stray = ledger_default_partition_rows()
    if stray.rows:
        logger.warning(
            "ledger_default_partition_rows=%d: the ledger's default partition holds rows of "
            "%s; create their months' partitions (ledger.partitions_maintain with "
            "LEDGER_PARTITIONS_AHEAD, or apps.ledger.partitions.partition_create), which "
            "moves them",
            stray.rows,
            ", ".join(f"{month:%Y-%m}" for month in stray.months),
        )
    return {"created": created, "default_partition_rows": stray.rows}


@shared_task(name="ledger.close_months", time_limit=1800, soft_time_limit=1780)
def close_months() -> list[str]:
    """Build the rollup's monthly level of the months that have closed (apps.ledger.months);
    returns them (YYYY-MM). A run with nothing to build reads two small tables."""
    return [f"{month:%Y-%m}" for month in ledger_months_close()]
