"""ledger.release_dangling_holds: Celery beat releases the holds of calls whose process died."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.contrib.admin.sites import site
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import CreditHold
from apps.billing.services import credit_hold
from apps.ledger.models import HoldReleaseRun, LedgerEntry
from apps.ledger.selectors import ledger_balance_differences
from apps.ledger.tasks import release_dangling_holds
from apps.realtime.models import AsyncCall
from tests import factories

pytestmark = pytest.mark.django_db


def hold_taken(client: Client, request_id: str, minutes_ago: int) -> int:
    with time_machine.travel(timezone.now() - timedelta(minutes=minutes_ago)):
        held = credit_hold(
            client_id=client.pk,
            amount=Decimal("0.0100"),
            request_id=request_id,
            method="currency.latest_rates",
        )
    assert held is not None
    return held.id


def test_beat_runs_the_release_on_a_schedule() -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["ledger-release-dangling-holds"]
    assert entry["task"] == release_dangling_holds.name


@override_settings(GATEWAY_DANGLING_HOLD_AGE_S=600)
def test_a_hold_older_than_the_age_is_released_and_its_call_recorded_interrupted() -> None:
    # given a call whose process died 20 minutes ago and one still running for a minute
    client = factories.ClientFactory(slug="acme")
    hold_taken(client, "req-dead", minutes_ago=20)
    running = hold_taken(client, "req-running", minutes_ago=1)

    # when beat runs the task
    released = release_dangling_holds.delay().get()

    # then the dead call's hold is gone, recorded as interrupted and unbilled
    assert released == 1
    entry = LedgerEntry.objects.get(request_id="req-dead")
    assert (entry.status, entry.error_type, entry.amount) == ("failed", "interrupted", Decimal(0))
    assert list(CreditHold.objects.values_list("id", flat=True)) == [running]
    client.refresh_from_db()
    assert client.held == Decimal("0.0100")
    assert ledger_balance_differences() == []
    # and the run is there for ops to see
    run = HoldReleaseRun.objects.get()
    assert (run.hold_age_s, run.holds_released, run.amount_released) == (600, 1, Decimal("0.01"))
    assert run.finished_at is not None


@override_settings(GATEWAY_DANGLING_HOLD_AGE_S=600)
def test_a_background_call_still_retrying_keeps_its_hold() -> None:
    # given a background call admitted an hour ago and still being retried
    client = factories.ClientFactory(slug="acme")
    hold = hold_taken(client, "req-background", minutes_ago=60)
    AsyncCall.objects.create(
        request_id="req-background", client=client, channel="http", service="currency",
        method="latest_rates", body="{}", price=Decimal("0.0100"), hold_id=hold,
        status=AsyncCall.Status.PENDING,
    )  # fmt: skip

    # when
    released = release_dangling_holds.delay().get()

    # then its hold stays and nothing is recorded for it
    assert released == 0
    assert CreditHold.objects.filter(id=hold).exists()
    assert not LedgerEntry.objects.filter(request_id="req-background").exists()


def test_the_runs_are_read_only_in_the_admin(rf: pytest.FixtureRequest) -> None:
    model_admin = site._registry[HoldReleaseRun]
    request = rf.get("/admin/")  # type: ignore[attr-defined]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
