"""PostgreSQL down, then back: 503 problem+json within the deadline, service resumes alone."""

from tests.faults.conftest import Caller
from tests.faults.processes import Deployment, Gateway
from tests.faults.services import PrivatePostgres


def test_a_call_is_served_and_recorded(
    deployment: Deployment,
    gateway_server: Gateway,
    caller: Caller,
    private_postgres: PrivatePostgres,
) -> None:
    # given a gateway on its own database
    # when a client calls
    answer = caller.call(gateway_server)
    # then it is served and recorded
    assert answer.status_code == 200, answer.text
    rows = private_postgres.query(
        "SELECT status FROM ledger_ledgerentry WHERE request_id = %s", answer.json()["request_id"]
    )
    assert rows == [("succeeded",)]
    deployment.ledger_check()
