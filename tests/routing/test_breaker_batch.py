"""Successes recorded together (apps.routing.breaker_batch): the calls of one event loop share
one round trip for them; a fault is written at once, after the successes queued before it."""

import asyncio
from collections.abc import AsyncIterator

import pytest

from apps.catalog.providers import OUTCOME_OK
from apps.core import asyncdb, state
from apps.routing import breaker_batch, breakers
from apps.routing.breakers import AttemptRecord, breaker_key
from apps.routing.http import close_http_client
from tests.support.asgi import asgi_post
from tests.support.routing import route_of

LATEST = "/api/v1/services/currency/latest_rates/"
ALPHA = route_of("alpha", offering_id=1)


@pytest.fixture(autouse=True)
async def closed_with_the_loop() -> AsyncIterator[None]:
    """The test's loop writes and closes what it opened before pytest-asyncio cancels it."""
    yield
    await asyncdb.close_db_pool()
    await close_http_client()
    await state.close_async_client()


def breaker_of(offering_id: int) -> dict[str, str]:
    raw = state.sync_client().hgetall(breaker_key(offering_id))
    return {k.decode(): v.decode() for k, v in raw.items()}


def success(latency_ms: int) -> AttemptRecord:
    return AttemptRecord(ALPHA, breakers.SUCCESS, OUTCOME_OK, latency_ms=latency_ms)


@pytest.mark.django_db(transaction=True)
async def test_calls_served_together_record_their_successes_in_one_round_trip(
    caller, sandbox_only, redis_round_trips, monkeypatch
):
    # given a warm process whose successes wait long enough to be written together
    monkeypatch.setattr(breaker_batch, "SUCCESS_BATCH_S", 60.0)
    await asgi_post(LATEST, {"base": "EUR"}, caller.headers)
    await breakers.successes.flush()
    redis_round_trips.clear()

    # when eight calls are served at once, and the worker then shuts down
    answers = await asyncio.gather(
        *(asgi_post(LATEST, {"base": "EUR"}, caller.headers) for _ in range(8))
    )
    assert [messages[0]["status"] for messages in answers] == [200] * 8
    served_before_shutdown = list(redis_round_trips)
    await state.close_async_client()

    # then each call made one round trip, and the shutdown one for all their successes
    assert served_before_shutdown == [("MGET", "HMGET")] * 8
    assert redis_round_trips[8:] == [("EVALSHA",)]
    (key,) = state.sync_client().keys(breaker_key(0).replace("0", "*"))
    fields = breaker_of(int(key.decode().rsplit(":", 1)[1]))
    assert sum(int(v) for k, v in fields.items() if k.startswith("n:")) == 9
    assert fields["last_outcome"] == OUTCOME_OK and "ewma" in fields


async def test_successes_are_written_within_the_batch_time_without_a_flush():
    # when
    await breakers.route_end_soon([success(100)])

    # then
    for _ in range(200):
        if "ewma" in breaker_of(ALPHA.offering_id):
            break
        await asyncio.sleep(0.01)
    assert float(breaker_of(ALPHA.offering_id)["ewma"]) == 100


async def test_a_fault_is_written_at_once_after_the_successes_queued_before_it(
    redis_round_trips, monkeypatch
):
    # given two successes queued
    monkeypatch.setattr(breaker_batch, "SUCCESS_BATCH_S", 60.0)
    await breakers.route_end_soon([success(100)])
    await breakers.route_end_soon([success(200)])
    assert redis_round_trips == []

    # when a fault follows
    await breakers.route_end_soon([AttemptRecord(ALPHA, breakers.FAULT, "http_error")])

    # then one round trip recorded all three, in order: the fault counts after the successes
    assert redis_round_trips == [("EVALSHA",)]
    fields = breaker_of(ALPHA.offering_id)
    assert (fields["fails"], fields["last_outcome"]) == ("1", "http_error")
    assert float(fields["ewma"]) == 130
