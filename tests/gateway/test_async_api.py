"""Prefer: respond-async admission and GET /api/v1/requests/{id}/ (embedded run: eager)."""

import json
from decimal import Decimal

import pytest

from apps.ledger.models import LedgerEntry
from apps.realtime.models import AsyncCall
from tests import factories

LATEST = "/api/v1/services/currency/latest_rates/"
ASYNC = {"Prefer": "respond-async"}

pytestmark = pytest.mark.django_db


def post(api, body, headers):
    payload = body if isinstance(body, str) else json.dumps(body)
    return api.post(LATEST, payload, content_type="application/json", headers=headers)


def test_without_a_broker_the_call_runs_in_process_and_the_202_still_answers(
    api, caller, sandbox_only, django_capture_on_commit_callbacks
):
    # when a background call is made in the embedded run (eager Celery; the task is sent
    # once the record is committed)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = post(api, {"base": "EUR"}, {**caller.headers, **ASYNC})

    # then it is answered 202 and its result is already at the status URL
    assert accepted.status_code == 202
    assert accepted["Preference-Applied"] == "respond-async"
    view = api.get(accepted.json()["status_url"], headers=caller.headers).json()
    assert (view["status"], view["http_status"], view["runs"]) == ("succeeded", 200, 1)
    assert LedgerEntry.objects.get().channel == "async"


@pytest.mark.parametrize(
    ("body", "status"),
    [('{"base": "EURO"}', 400), ("not json", 400), ('{"bsae": "EUR"}', 400)],
    ids=["invalid-code", "not-json", "unknown-field"],
)
def test_bad_input_gets_its_4xx_at_once_and_no_background_call(
    api, caller, sandbox_only, body, status
):
    response = post(api, body, {**caller.headers, **ASYNC})

    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert not AsyncCall.objects.exists()


def test_a_call_over_the_credit_limit_gets_402_at_once(api, caller, sandbox_only):
    # given a client with no credit left
    caller.client.credit_limit = Decimal("0")
    caller.client.save()

    response = post(api, {}, {**caller.headers, **ASYNC})

    assert response.status_code == 402
    assert not AsyncCall.objects.exists()


def test_another_clients_request_id_is_404(api, caller, sandbox_only):
    # given acme's background call, and another client
    request_id = post(api, {}, {**caller.headers, **ASYNC}).json()["request_id"]
    other = factories.ClientFactory(slug="other", plan=caller.client.plan)
    other_key = factories.api_key_for(other)

    # when the other client asks for it
    response = api.get(f"/api/v1/requests/{request_id}/", headers={"X-API-Key": other_key})

    # then it does not exist for them
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert api.get(f"/api/v1/requests/{request_id}/").status_code == 401


def test_an_idempotent_retry_gets_the_same_202_and_no_second_call(
    api, caller, sandbox_only, django_capture_on_commit_callbacks
):
    headers = {**caller.headers, **ASYNC, "Idempotency-Key": "batch-9"}

    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, {"base": "EUR"}, headers)
        second = post(api, {"base": "EUR"}, headers)

    assert (first.status_code, second.status_code) == (202, 202)
    assert second.json()["request_id"] == first.json()["request_id"]
    assert second["Idempotent-Replayed"] == "true"
    assert AsyncCall.objects.count() == LedgerEntry.objects.count() == 1
    caller.client.refresh_from_db()
    assert caller.client.balance == Decimal("-0.0100")


def test_a_call_whose_task_never_reached_the_broker_is_sent_again_and_runs_once(
    api, caller, sandbox_only, django_capture_on_commit_callbacks, monkeypatch, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from apps.gateway import tasks

    # given a background call admitted while the broker was unreachable
    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.run_async_call, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        accepted = post(api, {"base": "EUR"}, {**caller.headers, **ASYNC})
    assert accepted.status_code == 202
    assert AsyncCall.objects.get().status == "pending"
    monkeypatch.undo()

    # when the sweeper runs before and after the call is stale
    assert tasks.redispatch_stale_calls() == 0
    AsyncCall.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    assert tasks.redispatch_stale_calls() == 1

    # then the call ran, once: one ledger row, one charge, nothing left to send
    view = api.get(accepted.json()["status_url"], headers=caller.headers).json()
    assert (view["status"], view["runs"]) == ("succeeded", 1)
    assert LedgerEntry.objects.get().price == Decimal("0.0100")
    assert tasks.redispatch_stale_calls() == 0


def test_the_sweeper_is_on_the_beat_schedule(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "gateway.redispatch_stale_calls" in tasks_scheduled


def test_a_synchronous_call_is_found_by_its_id_with_its_status(api, caller, sandbox_only):
    # given a call answered synchronously
    answered = post(api, {"base": "EUR"}, {**caller.headers, "X-Request-ID": "sync-42"})
    assert answered.status_code == 200

    # when its client asks for it, and another client asks for it
    mine = api.get("/api/v1/requests/sync-42/", headers=caller.headers)
    other = factories.ClientFactory(plan=caller.client.plan)
    theirs = api.get(
        "/api/v1/requests/sync-42/",
        headers={"Authorization": f"Api-Key {factories.api_key_for(other)}"},
    )

    # then its client sees it final (the result went back in the response), the other 404
    assert mine.status_code == 200
    view = mine.json()
    assert (view["status"], view["http_status"], view["channel"]) == ("succeeded", 200, "http")
    assert "result" not in view
    assert theirs.status_code == 404
