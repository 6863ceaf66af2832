"""The periodic release of dangling credit holds (Celery beat: ledger.release_dangling_holds).

A hold outlives its call only when the process serving the call died between hold and settle
(a SIGKILL, an OOM kill, a lost machine). Once it is older than the longest deadline, with
room to settle (GATEWAY_DANGLING_HOLD_AGE_S), it is released and its call recorded as
interrupted and unbilled (credit_hold_release_dangling), the same as
`ledger_check --release-dangling`. Each run leaves a HoldReleaseRun, shown in the admin.
"""

from datetime import timedelta

from django.utils import timezone

from apps.core.money import ZERO
from apps.ledger.models import HoldReleaseRun
from apps.ledger.selectors import credit_holds_dangling
from apps.ledger.services import credit_hold_release_dangling


def dangling_holds_release(*, older_than: timedelta) -> HoldReleaseRun:
    """Release every hold older than `older_than` (each in its own transaction, so a run
    that stops halfway keeps what it did) and record the run."""
    run = HoldReleaseRun.objects.create(hold_age_s=int(older_than.total_seconds()))
    released, amount = 0, ZERO
    for hold in credit_holds_dangling(older_than=older_than):
        if credit_hold_release_dangling(hold=hold) is not None:
            released, amount = released + 1, amount + hold.amount
    run.finished_at = timezone.now()
    run.holds_released, run.amount_released = released, amount
    run.save(update_fields=["finished_at", "holds_released", "amount_released"])
    return run
