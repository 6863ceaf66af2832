"""PostgreSQL down, then back: 503 problem+json within the deadline, service resumes alone."""

import time
from concurrent.futures import ThreadPoolExecutor

from tests.faults.processes import Caller, Deployment, Gateway
from tests.faults.services import PrivatePostgres
from tests.support.waiting import wait_until


def test_a_call_is_served_and_recorded(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
) -> None:
    # given a gateway on its own database
    # when a client calls
    answer = faults_caller.call(gateway_server)
    # then it is served and recorded
    assert answer.status_code == 200, answer.text
    rows = private_postgres.query(
        "SELECT status FROM ledger_ledgerentry WHERE request_id = %s", answer.json()["request_id"]
    )
    assert rows == [("succeeded",)]
    deployment.ledger_check()


def test_database_down_answers_503_problem_and_service_resumes_when_it_returns(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
) -> None:
    # given a gateway that has served calls (its pools hold open connections)
    for _ in range(4):
        assert faults_caller.call(gateway_server).status_code == 200
    # when PostgreSQL crashes
    private_postgres.stop("immediate")
    answers = []
    for _ in range(4):
        started = time.monotonic()
        answers.append((faults_caller.call(gateway_server), time.monotonic() - started))
    # then every call is refused with a 503 problem, within the 5 s deadline
    for answer, took in answers:
        assert answer.status_code == 503, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["status"] == 503
        assert answer.json()["request_id"]
        assert int(answer.headers["Retry-After"]) > 0
        # (measured: ~3.9 s for the first, when the pools first wait for a connection; ~2.1 s
        # after: DB_ASYNC_POOL_TIMEOUT_S and DB_POOL_TIMEOUT_S bound it)
        assert took < 4.5
    # when PostgreSQL comes back, with no restart of the gateway
    private_postgres.start()
    # then calls are served again once its pools have reconnected (seconds: docs/reliability.md)
    assert _served_again(faults_caller, gateway_server)
    served = [faults_caller.call(gateway_server) for _ in range(3)]
    assert [answer.status_code for answer in served] == [200, 200, 200]
    ids = [answer.json()["request_id"] for answer in served if answer.status_code == 200]
    recorded = private_postgres.query(
        "SELECT request_id FROM ledger_ledgerentry WHERE request_id = ANY(%s)", ids
    )
    assert len(recorded) == len(ids)
    # and the calls refused before any provider was asked left no row: nothing was served,
    # and nothing was held that a row would have to release
    refused = [answer.json()["request_id"] for answer, _ in answers]
    assert (
        private_postgres.query(
            "SELECT request_id FROM ledger_ledgerentry WHERE request_id = ANY(%s)", refused
        )
        == []
    )
    deployment.ledger_check()


def test_concurrent_calls_meeting_the_outage_each_get_their_503_within_the_deadline(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
) -> None:
    # given a gateway that has served calls, then PostgreSQL crashing
    for _ in range(2):
        assert faults_caller.call(gateway_server).status_code == 200
    private_postgres.stop("immediate")

    # when a dozen clients call at once (found under load by bench/faults.sh: each worker's
    # key lookups waited for the pool one after another, up to 9.6 s)
    def timed_call(_: int) -> tuple[int, float]:
        started = time.monotonic()
        answer = faults_caller.call(gateway_server)
        return answer.status_code, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(timed_call, range(12)))

    # then each is a 503 inside the call's 5 s deadline
    assert [status for status, _ in answers] == [503] * 12
    assert max(took for _, took in answers) < 5.0, answers
    private_postgres.start()
    assert _served_again(faults_caller, gateway_server)
    deployment.ledger_check()


def _served_again(faults_caller: Caller, gateway: Gateway) -> bool:
    """Three calls in a row served, within 20 s of the database's return.

    While the pools reconnect (psycopg_pool's backoff, the 1 s hold of apps.core.db), one
    call may be served by a fresh connection and the next still meet a pool that has none
    yet: docs/reliability.md measures some seconds of such 503s. Resumed means served
    every time, not once.
    """
    return wait_until(
        lambda: all(faults_caller.call(gateway).status_code == 200 for _ in range(3)),
        timeout=20,
        what="three calls in a row served",
        interval=0.5,
    )
