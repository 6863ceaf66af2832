"""PostgreSQL goes away after the provider served: never "failed and unbilled", and a retry
with the same Idempotency-Key never reaches the provider a second time."""

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import httpx

from tests.faults.background import wait_for
from tests.faults.processes import PRICE, Caller, Deployment, FakeFixer, Gateway
from tests.faults.services import PrivatePostgres
from tests.support.waiting import wait_until


def _wait_for_row(postgres: PrivatePostgres, request_id: str, timeout: float = 60) -> list:
    return wait_for(
        lambda: postgres.query(
            "SELECT status, amount FROM ledger_ledgerentry WHERE request_id = %s", request_id
        ),
        timeout=timeout,
        what=f"the pending settle of {request_id} to land",
    )


def _retried_while_unavailable(
    call: Callable[[], httpx.Response], timeout: float = 30
) -> httpx.Response:
    """The call, sent again as a client would while the gateway answers 503
    database-unavailable: its pools reconnect some seconds after PostgreSQL is back
    (docs/reliability.md)."""

    def answered() -> httpx.Response | None:
        answer = call()
        unavailable = answer.status_code == 503 and answer.json()["type"].endswith(
            "/database-unavailable"
        )
        return None if unavailable else answer

    # A client waits between tries as Retry-After asks (whole seconds: 1 s at least).
    return wait_until(answered, timeout=timeout, what="an answer but 503", interval=1.0)


def test_a_call_served_while_postgres_goes_away_is_billed_once_and_sent_once(
    deployment: Deployment,
    gateway_server: Gateway,
    faults_caller: Caller,
    private_postgres: PrivatePostgres,
    fake_fixer: FakeFixer,
) -> None:
    # given fixer holding its answer until the test has stopped PostgreSQL
    [(balance_before,)] = private_postgres.query(
        "SELECT balance FROM accounts_client WHERE slug = %s", faults_caller.slug
    )
    hits_before = fake_fixer.hits
    headers = {"Idempotency-Key": f"settle-{uuid.uuid4()}"}
    payload = {"base": "EUR", "symbols": ["GBP"]}
    fake_fixer.hang()
    first: list[httpx.Response] = []
    running = threading.Thread(
        target=lambda: first.append(
            faults_caller.call(gateway_server, payload, headers=headers, timeout=60)
        )
    )
    running.start()
    fake_fixer.wait_for_request()

    # when PostgreSQL goes away before fixer answers (the provider served, the write fails)
    private_postgres.stop("immediate")
    fake_fixer.answer_normally()
    running.join(timeout=60)
    # and the client retries with the same key while it is down, and after it is back
    while_down = faults_caller.call(gateway_server, payload, headers=headers, timeout=60)
    private_postgres.start()
    request_id = first[0].json()["request_id"]
    rows = _wait_for_row(private_postgres, request_id)
    after = _retried_while_unavailable(
        lambda: faults_caller.call(gateway_server, payload, headers=headers, timeout=60)
    )

    # then the client was told the call was served and will be recorded, not that it failed
    assert first[0].status_code == 503, first[0].text
    assert first[0].headers["Content-Type"] == "application/problem+json"
    assert first[0].json()["type"].endswith("/outcome-unknown")
    # and the retry while the database was away did not get through
    assert while_down.status_code != 200
    # and once recorded, the retry gets the served answer of the first call
    assert after.status_code == 200, after.text
    assert after.json()["request_id"] == request_id
    assert after.headers.get("Idempotent-Replayed") == "true"
    # and fixer was asked exactly once; the call has one row, charged once
    assert fake_fixer.hits - hits_before == 1
    assert rows == [("succeeded", -PRICE)]
    [(balance_after,)] = private_postgres.query(
        "SELECT balance FROM accounts_client WHERE slug = %s", faults_caller.slug
    )
    assert Decimal(balance_after) == Decimal(balance_before) - PRICE
    deployment.ledger_check()
