"""Gateway process killed mid-call: Celery beat releases the dead call's hold and records it
interrupted and unbilled; a background call still retrying keeps its hold and is billed once."""

import os
import signal
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.faults.background import ASYNC, broker_env, ledger_rows, status_of, wait_for
from tests.faults.processes import PRICE, Caller, Deployment, FakeFixer, Gateway
from tests.faults.services import PrivatePostgres, PrivateRabbit

HOLD_AGE_S = 6


@pytest.fixture
def gateway_env(private_rabbit: PrivateRabbit) -> dict[str, str]:
    return broker_env(
        private_rabbit,
        GATEWAY_DANGLING_HOLD_AGE_S=str(HOLD_AGE_S),
        GATEWAY_DANGLING_HOLD_RELEASE_INTERVAL_S="1",
        # A background run that fails is run again 10-20 s later: still retrying when its
        # hold is past the release age.
        GATEWAY_ASYNC_RETRY_BACKOFF_S="20",
    )


@pytest.fixture
def celery(deployment: Deployment, gateway_env: dict[str, str]) -> Iterator[None]:
    worker = deployment.celery_worker(gateway_env)
    beat = deployment.celery_beat(gateway_env)
    worker.wait_for_output("ready.")
    yield
    for process in (worker, beat):
        process.stop()
        print(process.output())  # shown with a failing test's report


def kill_workers(gateway: Gateway) -> None:
    """SIGKILL every gunicorn worker (the one serving the call among them); the master
    starts new ones."""
    for pid in gateway.children():
        os.kill(pid, signal.SIGKILL)


def released_after_hold_aged(postgres: PrivatePostgres, request_id: str) -> bool:
    """Whether a release run has finished since the call's hold passed the release age."""
    rows = postgres.query(
        "SELECT count(*) FROM ledger_holdreleaserun r, billing_credithold h"
        " WHERE h.request_id = %s AND r.started_at > h.created_at + %s * interval '1 second'"
        " AND r.finished_at IS NOT NULL",
        request_id,
        HOLD_AGE_S + 1,
    )
    return bool(rows[0][0])


def test_the_hold_of_a_call_whose_gateway_died_is_released_unbilled_not_a_retrying_ones(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    fake_fixer: FakeFixer,
    celery: None,
) -> None:
    # given a synchronous call held by a vendor that does not answer
    fake_fixer.hang()
    sync_id = f"killed-{uuid.uuid4()}"
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(faults_caller.call(gateway_server, headers={"X-Request-ID": sync_id}))
        except httpx.TransportError as error:
            outcome.append(error)

    running = threading.Thread(target=call)
    running.start()
    fake_fixer.wait_for_request()
    # when the gateway worker serving it is SIGKILLed before the vendor's timeout
    kill_workers(gateway_server)
    running.join(timeout=30)
    # then the client is cut off (no answer), and the call's credit is still held
    assert isinstance(outcome[0], httpx.TransportError), outcome
    assert private_postgres.query(
        "SELECT count(*) FROM billing_credithold WHERE request_id = %s", sync_id
    ) == [(1,)]
    gateway_server.wait_until(
        lambda: httpx.get(f"{gateway_server.url}/healthz", timeout=1).status_code == 200
    )

    # given a background call whose runs keep failing (the vendor still does not answer)
    fake_fixer.hang()
    accepted = faults_caller.call(gateway_server, headers=ASYNC)
    assert accepted.status_code == 202, accepted.text
    async_id = accepted.json()["request_id"]
    fake_fixer.wait_for_request()

    # when beat runs the release past both holds' age
    wait_for(
        lambda: ledger_rows(private_postgres, sync_id),
        timeout=30,
        what="the dead call's hold to be released",
    )
    wait_for(
        lambda: released_after_hold_aged(private_postgres, async_id),
        timeout=30,
        what="a release run after the background call's hold aged",
    )
    # then the dead call is recorded interrupted and unbilled, its hold gone
    assert ledger_rows(private_postgres, sync_id) == [("failed", "interrupted", 0)]
    assert private_postgres.query(
        "SELECT count(*) FROM billing_credithold WHERE request_id = %s", sync_id
    ) == [(0,)]
    # and the background call, still retrying, keeps its hold and has no row yet
    assert status_of(gateway_server, faults_caller, accepted)["status"] in ("pending", "running")
    assert private_postgres.query(
        "SELECT count(*) FROM billing_credithold WHERE request_id = %s", async_id
    ) == [(1,)]
    assert ledger_rows(private_postgres, async_id) == []

    # when the vendor answers again
    fake_fixer.answer_normally()
    # then the background call's next run serves it, charged once
    wait_for(
        lambda: status_of(gateway_server, faults_caller, accepted)["status"] == "succeeded",
        timeout=45,
        what="the background call to succeed",
    )
    assert ledger_rows(private_postgres, async_id) == [("succeeded", "", -PRICE)]
    deployment.ledger_check()
