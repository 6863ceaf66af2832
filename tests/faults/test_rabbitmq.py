"""RabbitMQ down: background calls are accepted (202) and run once the broker is back;
synchronous calls are unaffected; no background call is lost or charged twice."""

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.faults.background import ASYNC, broker_env, ledger_rows, status_of, wait_for
from tests.faults.processes import PRICE, Caller, Deployment, Gateway, Process
from tests.faults.services import PrivatePostgres, PrivateRabbit


@pytest.fixture
def gateway_env(private_rabbit: PrivateRabbit) -> dict[str, str]:
    return broker_env(private_rabbit)


@pytest.fixture
def celery(deployment: Deployment, gateway_env: dict[str, str]) -> Iterator[list[Process]]:
    """A worker and beat on the private broker, running through the outage."""
    worker = deployment.celery_worker(gateway_env)
    beat = deployment.celery_beat(gateway_env)
    worker.wait_for_output("ready.")
    yield [worker, beat]
    for process in (worker, beat):
        process.stop()
        print(process.output())  # shown with a failing test's report


def _a_background_call_ran(gateway: Gateway, faults_caller: Caller) -> None:
    """One background call made and run: the gateway holds a connection to the broker."""
    before = faults_caller.call(gateway, headers=ASYNC)
    wait_for(
        lambda: status_of(gateway, faults_caller, before)["status"] == "succeeded",
        timeout=30,
        what="the first background call",
    )


def test_background_calls_made_while_the_broker_is_down_run_once_it_is_back(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    private_rabbit: PrivateRabbit,
    celery: list[Process],
) -> None:
    # given a gateway, worker and beat that have run a background call (the gateway holds a
    # connection to the broker), and a broker that has just gone away
    _a_background_call_ran(gateway_server, faults_caller)
    private_rabbit.stop()
    # when clients make background and synchronous calls while it is down
    accepted, took = [], []
    for _ in range(3):
        started = time.monotonic()
        accepted.append(faults_caller.call(gateway_server, headers=ASYNC))
        took.append(time.monotonic() - started)
    served = [faults_caller.call(gateway_server) for _ in range(3)]
    # then each background call is accepted at once, not hung on the dead broker
    assert [answer.status_code for answer in accepted] == [202] * 3, accepted[0].text
    assert max(took) < 2.0, took
    # and synchronous calls are served and recorded as ever
    assert [answer.status_code for answer in served] == [200] * 3, served[0].text
    for answer in served:
        assert ledger_rows(private_postgres, answer.json()["request_id"]) == [
            ("succeeded", "", -PRICE)
        ]

    # when the broker comes back
    private_rabbit.start()
    # then every accepted call is run (beat sends the calls that never reached the broker),
    # charged once, and its status URL answers its result
    for answer in accepted:
        final = wait_for(
            lambda answer=answer: (  # type: ignore[misc]
                status_of(gateway_server, faults_caller, answer)["status"] == "succeeded"
            ),
            timeout=60,
            what=f"background call {answer.json()['request_id']} to succeed",
        )
        assert final
        status = status_of(gateway_server, faults_caller, answer)
        assert status["http_status"] == 200
        assert status["result"]["data"]["base"] == "EUR"
        request_id = answer.json()["request_id"]
        assert ledger_rows(private_postgres, request_id) == [("succeeded", "", -PRICE)]
    deployment.ledger_check()


def timed(call: Callable[[], httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    return call(), time.monotonic() - started


def test_a_hung_broker_holds_neither_the_202_nor_the_synchronous_calls_beside_it(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    private_rabbit: PrivateRabbit,
    celery: list[Process],
) -> None:
    # given a gateway that has sent a background call (it holds a broker connection)
    _a_background_call_ran(gateway_server, faults_caller)
    # when the broker hangs (it keeps its port, answers nothing), and clients make background
    # calls with synchronous calls beside them
    private_rabbit.pause()
    accepted: list[tuple[httpx.Response, float]] = []
    served: list[tuple[httpx.Response, float]] = []
    try:
        for _ in range(4):
            beside = threading.Thread(
                target=lambda: served.append(timed(lambda: faults_caller.call(gateway_server)))
            )
            beside.start()
            accepted.append(timed(lambda: faults_caller.call(gateway_server, headers=ASYNC)))
            beside.join(timeout=30)
    finally:
        private_rabbit.resume()
    # then the 202s and the 200s come at once: no request waits on the broker
    assert [answer.status_code for answer, _ in accepted] == [202] * 4
    assert [answer.status_code for answer, _ in served] == [200] * 4
    assert max(took for _, took in accepted + served) < 1.5, (accepted, served)
    # and once it answers again, every background call runs, charged once
    for answer, _ in accepted:
        wait_for(
            lambda answer=answer: (  # type: ignore[misc]
                status_of(gateway_server, faults_caller, answer)["status"] == "succeeded"
            ),
            timeout=60,
            what=f"background call {answer.json()['request_id']} to succeed",
        )
        request_id = answer.json()["request_id"]
        assert ledger_rows(private_postgres, request_id) == [("succeeded", "", -PRICE)]
    deployment.ledger_check()
