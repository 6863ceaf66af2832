"""Schemathesis over the OpenAPI document: no input makes the gateway answer 5xx, and every
answer (status, content type, body, headers) is one the document describes.

It runs against the real ASGI application under uvicorn (the `live_gateway` fixture), so calls
take the production path (apps.gateway.asgi_calls) and everything else goes through Django.
The vendors are the demo catalog's offline ones (fixtures/demo.yaml): no network is needed.

Seeded, so a failure can be replayed: the seed is printed at the start of the run; run again
with `GATEWAY_FUZZ_SEED=<seed>` (and `GATEWAY_FUZZ_EXAMPLES=<n>` to search longer):

    GATEWAY_FUZZ_SEED=1313 pytest tests/gateway/test_fuzz.py
"""

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from django.conf import settings
from django.contrib.auth.models import Group, User
from hypothesis import HealthCheck
from schemathesis import checks

from apps.accounts.models import Client
from apps.declarative.services import config_apply, config_parse
from apps.ledger.staff_tokens import staff_token_create
from tests import factories
from tests.factories import call_row

SEED = int(os.environ.get("GATEWAY_FUZZ_SEED", "1313"))
# Per operation; the whole run stays within a few minutes on a CI machine.
MAX_EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "10"))
# Operations for finance staff; every other one is called with the client's API key.
STAFF_PATHS = ("/api/v1/ledger/",)

schema = schemathesis.pytest.from_fixture("gateway_openapi")


def staff_token_for(user: User) -> str:
    """The value of `Authorization` for a staff user's ledger API token (knox, `Token <t>`)."""
    _, token = staff_token_create(user=user, ttl=timedelta(hours=1))
    return f"Token {token}"


@pytest.fixture
def staff_token(transactional_db: None) -> str:
    """A finance user's token: may read the ledger, its summary and its export."""
    user = User.objects.create_user("fuzz-finance", is_staff=True)
    user.groups.set(Group.objects.filter(name="finance"))
    return staff_token_for(user)


@pytest.fixture
def demo_client_key(transactional_db: None) -> str:
    """The demo catalog with a client that may call every method: a price for each, enough
    credit for every example and no rate limit (a 429 would stop the fuzzer short)."""
    document = yaml.safe_load((Path(settings.BASE_DIR) / "fixtures" / "demo.yaml").read_text())
    for plan in document["plans"]:
        plan.pop("rate_limits", None)
    for client in document["clients"]:
        client["credit_limit"] = "1000000.00"
    config_apply(document=config_parse(text=yaml.safe_dump(document), source="demo.yaml"))
    client = Client.objects.get(slug="demo")
    assert client.plan is not None
    assert client.plan.prices.count() == len(document["plans"][0]["prices"])
    assert client.credit_limit == Decimal("1000000.00")
    return factories.api_key_for(client)


@pytest.fixture
def gateway_openapi(live_gateway: str, demo_client_key: str, staff_token: str) -> Any:
    """The document the gateway serves at /api/schema/, aimed at the live server."""
    loaded = schemathesis.openapi.from_url(f"{live_gateway}/api/schema/?format=json")
    loaded.config.update(base_url=live_gateway)
    print(f"schemathesis: seed {SEED}, {MAX_EXAMPLES} examples per operation")
    return loaded


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """schemathesis 4.32 names each operation's subtest through `node._nodeid`, which
    pytest 9.2 no longer has (it keeps `nodeid`)."""
    request.node._nodeid = request.node.nodeid


@pytest.fixture
def auth_headers(demo_client_key: str, staff_token: str) -> dict[str, dict[str, str]]:
    return {
        "client": {"Authorization": f"Api-Key {demo_client_key}"},
        "staff": {"Authorization": staff_token},
    }


@schema.parametrize()
@hypothesis.seed(SEED)
@hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,  # replay comes from the seed, not from a local example database
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)
def test_no_input_gets_a_server_error_or_an_undocumented_answer(
    case: Any, auth_headers: dict[str, dict[str, str]]
) -> None:
    # given a valid key (or a finance token), and whatever body, query and headers the
    # document allows (and some it does not)
    who = "staff" if case.path.startswith(STAFF_PATHS) else "client"
    headers = dict(case.headers or {})
    if (
        "Authorization" in headers
        or case.operation.get_parameter("Authorization", "header") is None
    ):
        headers.update(auth_headers[who])
    # else: a negative case that leaves out the documented Authorization header must go
    # without it (and get its 401), not have a valid key put back

    # when the gateway answers, then it is no 5xx, and status, content type, headers and
    # body are the documented ones
    case.call_and_validate(
        headers=headers,
        timeout=30,
        # A schema cannot say every rule (an ISO code that exists, a domain's TLD): a 400 for
        # schema-valid data is expected. Every other check runs, not_a_server_error first.
        excluded_checks=[checks.positive_data_acceptance],
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/ledger/", "/api/v1/ledger/export.csv"])
def test_an_instant_whose_offset_postgresql_cannot_hold_is_that_instant(
    api: Any, path: str
) -> None:
    """Found by the fuzzer (seed 1313, 15 examples): an offset beyond PostgreSQL's ±15:59 is
    valid ISO 8601 and Python's, and reached the query as a 500 (DataError)."""
    # given a finance user, and a row on either side of 2026-03-01T14:30:20Z
    user = User.objects.create_user("fiona", is_staff=True)
    user.groups.set(Group.objects.filter(name="finance"))
    api.force_login(user)
    client = factories.ClientFactory(slug="acme")
    call_row(client, datetime(2026, 3, 1, 14, 0, tzinfo=UTC), request_id="before")
    call_row(client, datetime(2026, 3, 1, 15, 0, tzinfo=UTC), request_id="after")

    # when they filter from that instant written 20 hours 2 minutes west of UTC
    response = api.get(path, {"created_after": "2026-02-28T18:28:20-20:02"})

    # then it is answered as the instant it is: only the later row
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"after" in body
    assert b"before" not in body
