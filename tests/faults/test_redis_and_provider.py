"""Redis down, then back: calls still served and recorded. A provider that never answers:
504 within the deadline, no hold left behind."""

import time

import httpx

from tests.faults.processes import Caller, Deployment, FakeFixer, Gateway
from tests.faults.services import PrivatePostgres, PrivateRedis


def recorded(private_postgres: PrivatePostgres, request_ids: list[str]) -> int:
    rows = private_postgres.query(
        "SELECT count(*) FROM ledger_ledgerentry WHERE request_id = ANY(%s)", request_ids
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def test_redis_down_calls_are_served_recorded_and_readyz_says_degraded(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
) -> None:
    # given a gateway that has served a call with Redis up
    assert faults_caller.call(gateway_server).status_code == 200
    # when Redis goes away
    private_redis.stop()
    during = [faults_caller.call(gateway_server) for _ in range(4)]
    ready = httpx.get(f"{gateway_server.url}/readyz", timeout=10)
    # then calls are served (limits fail open, breakers in process) and readiness is degraded
    assert [answer.status_code for answer in during] == [200] * 4
    assert ready.status_code == 200
    assert "degraded" in ready.text
    # when Redis is back
    private_redis.start()
    after = [faults_caller.call(gateway_server) for _ in range(2)]
    # then calls go on, and every 200 has its ledger row
    assert [answer.status_code for answer in after] == [200] * 2
    ids = [answer.json()["request_id"] for answer in during + after]
    assert recorded(private_postgres, ids) == len(ids)
    deployment.ledger_check()


def test_a_provider_that_never_answers_gets_a_504_within_the_deadline_and_no_hold_stays(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    fake_fixer: FakeFixer,
    private_postgres: PrivatePostgres,
) -> None:
    # given fixer (timeout 2 s, the only provider; deadline 5 s) that accepts and never answers
    fake_fixer.hang()
    # when a client calls
    started = time.monotonic()
    answer = faults_caller.call(gateway_server)
    took = time.monotonic() - started
    # then it gets a 5xx problem naming the timeout, before the deadline, and is not charged
    assert answer.status_code in (502, 504), answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["attempts"][0]["outcome"] == "timeout"
    assert took < 5.5
    rows = private_postgres.query(
        "SELECT status, amount FROM ledger_ledgerentry WHERE request_id = %s",
        answer.json()["request_id"],
    )
    assert [(status, str(amount)) for status, amount in rows] == [("failed", "0.0000")]
    fake_fixer.answer_normally()
    deployment.ledger_check()
