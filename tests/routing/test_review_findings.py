"""Review of the one-round-trip breakers (213e4e5): what batching successes must still keep."""

import asyncio
import json
import time

import pytest
from django.test import Client

from apps.catalog.providers import OUTCOME_OK
from apps.core import state
from apps.routing import breaker_batch, breakers
from apps.routing.breakers import AttemptRecord
from tests.support.routing import route_of

LATEST = "/api/v1/services/currency/latest_rates/"
ALPHA = route_of("alpha", offering_id=1)


def recorded_calls() -> int:
    """Calls counted in every breaker's fault-rate window, across all offerings."""
    sync = state.sync_client()
    total = 0
    for key in sync.keys(breakers.breaker_key(0)[:-1] + "*"):
        total += sum(int(v) for k, v in sync.hgetall(key).items() if k.startswith(b"n:"))
    return total


@pytest.mark.django_db
def test_a_success_served_by_the_django_side_entry_is_recorded(caller, sandbox_only):
    # given the Django-side entry (runserver, WSGI): each call runs in a loop of its own
    django_side = Client()

    # when a call is served
    answer = django_side.post(
        LATEST,
        json.dumps({"base": "EUR"}),
        content_type="application/json",
        headers=caller.headers,
    )
    assert answer.status_code == 200
    time.sleep(0.05)  # ten times the batch time

    # then its success counts in the breaker, as it did before successes were batched
    assert recorded_calls() == 1


async def test_a_fault_lands_after_successes_whose_batch_is_being_written(monkeypatch):
    # given a batch of successes whose write is under way (a slow round trip: a new connection)
    landed: list[str] = []
    started = asyncio.Event()

    async def write(records):  # type: ignore[no-untyped-def]
        kinds = ",".join(r.kind for r in records)
        if kinds == breakers.SUCCESS:
            started.set()
            await asyncio.sleep(0.02)
        landed.append(kinds)

    batch = breaker_batch.SuccessBatch(write)
    monkeypatch.setattr(breaker_batch, "SUCCESS_BATCH_S", 0.001)
    await batch.record([AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=5)])
    await asyncio.wait_for(started.wait(), 1)

    # when a later call's fault is recorded
    await batch.record([AttemptRecord(ALPHA, breakers.FAULT, "http_error")])
    await batch.flush()

    # then the earlier success is written first: otherwise it resets the fault count after it
    assert landed == [breakers.SUCCESS, breakers.FAULT]
