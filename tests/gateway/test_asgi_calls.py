"""The call endpoint as the production server serves it: straight from ASGI, before Django."""

from decimal import Decimal

import httpx
import pytest

from apps.accounts.models import Client
from apps.catalog.models import Provider
from apps.ledger.models import LedgerEntry
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_call_gets_the_request_id_and_the_security_headers(live_gateway, caller, sandbox_only):
    # when
    response = httpx.post(
        f"{live_gateway}{LATEST}",
        json={"base": "EUR", "symbols": ["USD"]},
        headers={**caller.headers, "X-Request-ID": "trace-7"},
    )

    # then
    assert response.status_code == 200
    assert response.json()["request_id"] == "trace-7"
    assert response.headers["X-Request-ID"] == "trace-7"
    assert response.headers["X-Provider"] == "sandbox"
    assert response.headers["X-Price"] == "0.0100"
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert LedgerEntry.objects.get().request_id == "trace-7"


def test_bad_requests_get_problems_before_the_pipeline(
    live_gateway, caller, sandbox_only, settings
):
    url = f"{live_gateway}{LATEST}"

    not_post = httpx.get(url, headers=caller.headers)
    assert (not_post.status_code, not_post.headers["Allow"]) == (405, "POST")

    wrong_host = httpx.post(url, json={}, headers={**caller.headers, "Host": "evil.example"})
    assert wrong_host.status_code == 400
    assert "Host" in wrong_host.json()["detail"]

    too_big = b'{"base": "EUR", "pad": "' + b"x" * settings.GATEWAY_MAX_BODY_BYTES + b'"}'
    declared = httpx.post(url, content=too_big, headers=caller.headers)
    streamed = httpx.post(
        url, content=iter([too_big[:1000], too_big[1000:]]), headers=caller.headers
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.json()["request_id"] == response.headers["X-Request-ID"]

    assert not LedgerEntry.objects.exists()


def test_every_other_path_still_goes_to_django(live_gateway, caller):
    assert httpx.get(f"{live_gateway}/healthz").json() == {"status": "ok"}
    services = httpx.get(f"{live_gateway}/api/v1/services/", headers=caller.headers)
    assert services.status_code == 200
    assert httpx.get(f"{live_gateway}/api/v1/nothing/").status_code == 404
    assert httpx.get(f"{live_gateway}/admin/login/").status_code == 200


def test_a_client_that_hangs_up_still_gets_its_call_recorded_and_charged_once(
    egress_private,  # fixer is faked on loopback; before live_gateway, which passes it on
    live_gateway,
    caller,
    held_fixer,
):
    # given fixer as the only provider, holding its answer until the test lets it go
    Provider.objects.update(enabled=False)
    fixer = Provider.objects.get(slug="fixer")
    fixer.base_url, fixer.credentials, fixer.enabled = held_fixer.url, {"access_key": "k"}, True
    fixer.save()

    # when the client gives up while fixer is still working on the call
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{live_gateway}{LATEST}",
            json={"base": "EUR"},
            headers=caller.headers,
            timeout=httpx.Timeout(5, read=0.5),
        )
    assert held_fixer.arrived.is_set()
    held_fixer.release.set()

    # then the call still runs to its end: one ledger row, one charge, no hold left behind
    wait_until(LedgerEntry.objects.exists, timeout=20, what="the call's ledger row")
    entry = LedgerEntry.objects.get()
    assert (entry.status, entry.provider, entry.price) == ("succeeded", "fixer", Decimal("0.0100"))
    client = Client.objects.get(pk=caller.client.pk)
    assert (client.balance, client.held) == (Decimal("-0.0100"), Decimal("0"))
