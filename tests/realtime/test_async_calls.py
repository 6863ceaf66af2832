"""Prefer: respond-async: 202 at once, the call run by a real Celery worker on RabbitMQ."""

import json
from decimal import Decimal

import httpx
import pytest
from celery.signals import task_postrun

from apps.gateway.tasks import RUN_ASYNC_CALL_TASK, run_async_call
from apps.ledger.models import LedgerEntry
from apps.realtime.models import AsyncCall
from tests import factories
from tests.integrations.currency.vendor_answers import FIXER_LATEST
from tests.support.calls import FIXER_URL
from tests.support.celery import final_call
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
ASYNC = {"Prefer": "respond-async"}


def post(api, body, headers):
    return api.post(LATEST, json.dumps(body), content_type="application/json", headers=headers)


@pytest.mark.django_db(transaction=True)
def test_202_then_the_result_at_the_status_url(api, caller, sandbox_only, celery_worker):
    # given a client and the sandbox provider, and a worker on RabbitMQ
    # when it asks for rates in the background
    accepted = post(api, {"base": "EUR", "symbols": ["USD"]}, {**caller.headers, **ASYNC})

    # then it gets 202 with where to look, and the worker finishes the call
    assert accepted.status_code == 202
    body = accepted.json()
    request_id = body["request_id"]
    assert body["status"] == "pending"
    assert body["status_url"] == f"/api/v1/requests/{request_id}/"
    assert body["websocket_url"].startswith(f"/ws/requests/{request_id}/?token=")
    assert accepted["Location"] == body["status_url"]
    final_call(request_id)
    status = api.get(body["status_url"], headers=caller.headers)
    assert status.status_code == 200
    view = status.json()
    assert view["status"] == "succeeded"
    assert view["http_status"] == 200
    assert view["result"]["data"]["base"] == "EUR"
    assert set(view["result"]["data"]["rates"]) == {"USD"}
    # and the call is charged once, on a ledger row that says it came in the background
    entry = LedgerEntry.objects.get(request_id=request_id)
    assert (entry.channel, entry.status, entry.price) == ("async", "succeeded", Decimal("0.01"))
    caller.client.refresh_from_db()
    assert (caller.client.balance, caller.client.held) == (Decimal("-0.0100"), Decimal("0"))


@pytest.mark.django_db(transaction=True)
def test_a_provider_fault_is_retried_with_backoff_then_succeeds(
    api, caller, fixer_only, celery_worker, settings
):
    # given fixer fails once with a 503, then answers; retries back off from 0.2 s
    settings.GATEWAY_ASYNC_RETRY_BACKOFF_S = 0.2
    with respx_fixer() as latest:
        latest.side_effect = [
            httpx.Response(503, json={"message": "maintenance"}),
            httpx.Response(200, json=FIXER_LATEST),
        ]

        # when a background call is made
        accepted = post(api, {"base": "EUR"}, {**caller.headers, **ASYNC})
        call = final_call(accepted.json()["request_id"])

    # then the second run served it, and both runs' attempts are on its one ledger row
    assert call.status == "succeeded"
    assert call.runs == 2
    assert [a["outcome"] for a in call.attempts] == ["http_error", "ok"]
    entry = LedgerEntry.objects.get(request_id=call.request_id)
    assert [a["outcome"] for a in entry.attempts] == ["http_error", "ok"]
    assert (entry.provider, entry.price) == ("fixer", Decimal("0.0100"))
    caller.client.refresh_from_db()
    assert (caller.client.balance, caller.client.held) == (Decimal("-0.0100"), Decimal("0"))


@pytest.mark.django_db(transaction=True)
def test_a_call_failing_every_run_ends_failed_with_its_attempts_and_no_charge(
    api, caller, fixer_only, celery_worker, settings
):
    # given fixer always fails and the method allows two attempts
    settings.GATEWAY_ASYNC_RETRY_BACKOFF_S = 0.1
    from apps.catalog.models import RoutingPolicy
    from apps.catalog.services import catalog_cache_invalidate

    RoutingPolicy.objects.filter(method=factories.method("currency.latest_rates")).update(
        max_attempts=2
    )
    catalog_cache_invalidate()
    with respx_fixer() as latest:
        latest.respond(status_code=500, text="Internal Server Error")

        # when a background call is made
        call = final_call(post(api, {}, {**caller.headers, **ASYNC}).json()["request_id"])

    # then it ends failed after two runs, says why, and the hold is released unbilled
    assert (call.status, call.runs, call.result_status) == ("failed", 2, 502)
    assert call.result["type"].endswith("providers-failed")
    assert len(call.attempts) == 2
    entry = LedgerEntry.objects.get(request_id=call.request_id)
    assert (entry.status, entry.price, len(entry.attempts)) == ("failed", Decimal("0"), 2)
    caller.client.refresh_from_db()
    assert (caller.client.balance, caller.client.held) == (Decimal("0"), Decimal("0"))


@pytest.mark.django_db(transaction=True)
def test_a_task_delivered_twice_charges_and_records_once(
    api, caller, sandbox_only, celery_queue, transactional_db
):
    # given a background call whose task message is in the queue twice (a redelivery after
    # a worker died), before any worker runs
    from celery.contrib.testing.worker import start_worker

    from gateway_project.celery import app

    accepted = post(api, {"base": "EUR"}, {**caller.headers, **ASYNC})
    call = AsyncCall.objects.get(request_id=accepted.json()["request_id"])
    run_async_call.delay(call.pk)
    runs: list[int] = []

    def count(sender=None, args=None, **kwargs):
        if sender is not None and sender.name == RUN_ASYNC_CALL_TASK and list(args) == [call.pk]:
            runs.append(1)

    task_postrun.connect(count, weak=False)
    try:
        # when a worker takes both deliveries
        with start_worker(
            app,
            pool="solo",
            queues=[celery_queue],
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ):
            wait_until(lambda: len(runs) >= 2, what="both deliveries to run")
    finally:
        task_postrun.disconnect(count)

    # then the call ran once: one ledger row, one charge
    call.refresh_from_db()
    assert (call.status, call.runs) == ("succeeded", 1)
    assert LedgerEntry.objects.filter(request_id=call.request_id).count() == 1
    caller.client.refresh_from_db()
    assert (caller.client.balance, caller.client.held) == (Decimal("-0.0100"), Decimal("0"))


def respx_fixer():
    import respx

    router = respx.mock(assert_all_called=False)
    router.route(host="127.0.0.1").pass_through()
    router.route(host="localhost").pass_through()

    class _Ctx:
        def __enter__(self):
            router.__enter__()
            return router.get(f"{FIXER_URL}/latest")

        def __exit__(self, *exc):
            return router.__exit__(*exc)

    return _Ctx()
