"""Celery worker killed (SIGKILL) mid-task: RabbitMQ delivers the task again (acks_late),
the call is charged once and its callback delivered once."""

import re
from collections.abc import Iterator

import orjson
import pytest

from tests.faults.background import (
    ASYNC,
    CallbackReceiver,
    broker_env,
    ledger_rows,
    status_of,
    wait_for,
)
from tests.faults.processes import PRICE, Caller, Deployment, FakeFixer, Gateway, Process
from tests.faults.services import PrivatePostgres, PrivateRabbit

# A run whose worker died is taken over once its lease (time limit + margin) has run out:
# 150 s by default, 9 s here.
LEASE = {
    "CELERY_TASK_TIME_LIMIT": "8",
    "CELERY_TASK_SOFT_TIME_LIMIT": "7",
    "GATEWAY_ASYNC_LEASE_MARGIN_S": "1",
}


@pytest.fixture
def gateway_env(private_rabbit: PrivateRabbit) -> dict[str, str]:
    return broker_env(private_rabbit, **LEASE)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    endpoint = CallbackReceiver()
    yield endpoint
    endpoint.close()


def received_task_ids(worker: Process) -> list[str]:
    return re.findall(r"Task gateway\.run_async_call\[([0-9a-f-]+)\] received", worker.output())


def idle(worker: Process) -> bool:
    """Every task the worker received has ended (succeeded, retried or raised): whatever
    those tasks queued is in the broker, and any such task would be in its log too."""
    output = worker.output()
    received = set(re.findall(r"Task [\w.]+\[([0-9a-f-]+)\] received", output))
    ended = set(re.findall(r"Task [\w.]+\[([0-9a-f-]+)\] (?:succeeded|retry|raised)", output))
    return received <= ended


def test_a_worker_killed_mid_call_leaves_the_task_to_be_delivered_again_and_run_once(
    deployment: Deployment,
    gateway_server: Gateway,
    gateway_env: dict[str, str],
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    fake_fixer: FakeFixer,
    receiver: CallbackReceiver,
) -> None:
    # given a worker (no beat: nothing but the broker may send the task again) running a
    # background call with a callback, held by a vendor that has not answered yet
    first = deployment.celery_worker(gateway_env)
    second: Process | None = None
    try:
        first.wait_for_output("ready.")
        hits_before = fake_fixer.hits
        fake_fixer.hang()
        accepted = faults_caller.call(
            gateway_server, headers={**ASYNC, "X-Callback-URL": receiver.url}
        )
        assert accepted.status_code == 202, accepted.text
        request_id = accepted.json()["request_id"]
        fake_fixer.wait_for_request()
        [task_id] = received_task_ids(first)

        # when the worker's process group is SIGKILLed (nothing acknowledged, no handler run),
        # the vendor recovers, and a new worker starts
        first.kill()
        fake_fixer.answer_normally()
        assert status_of(gateway_server, faults_caller, accepted)["status"] == "running"
        second = deployment.celery_worker(gateway_env)

        # then the broker delivers the same task again, and the call runs to its end
        wait_for(
            lambda: status_of(gateway_server, faults_caller, accepted)["status"] == "succeeded",
            timeout=60,
            what="the background call to succeed on the new worker",
        )
        assert task_id in received_task_ids(second)
        status = status_of(gateway_server, faults_caller, accepted)
        assert (status["http_status"], status["runs"]) == (200, 2)
        assert status["result"]["data"]["base"] == "EUR"
        # and it is charged once, the vendor asked once per run
        assert ledger_rows(private_postgres, request_id) == [("succeeded", "", -PRICE)]
        assert fake_fixer.hits - hits_before == 2
        # and its callback is delivered once, signed, naming the call
        wait_for(lambda: receiver.deliveries, timeout=30, what="the callback")
        # (a second delivery would be a second deliver_callback task: once the worker has
        # ended every task it took, any second delivery has been made)
        wait_for(lambda: idle(second), timeout=30, what="the worker to end its tasks")
        [delivery] = receiver.deliveries
        assert delivery.headers["X-Request-ID"] == request_id
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", delivery.headers["X-Signature"])
        body = orjson.loads(delivery.body)
        assert (body["request_id"], body["status"]) == (request_id, "succeeded")
    finally:
        for worker in (first, second):
            if worker is not None:
                worker.stop()
                print(worker.output())  # shown with a failing test's report
    deployment.ledger_check()
