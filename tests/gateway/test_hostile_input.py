"""Hostile input on the call endpoint is a 4xx problem, never a 500: JSON nested past
GATEWAY_MAX_JSON_DEPTH, and every header the endpoint reads, sent malformed."""

import json

import httpx
import pytest

from apps.catalog.models import Provider
from apps.ledger.models import LedgerEntry

LATEST = "/api/v1/services/currency/latest_rates/"
DEEP = b'{"base": "EUR", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


def nested(levels: int) -> dict:
    value: object = "EUR"
    for _ in range(levels):
        value = [value]
    return {"base": "EUR", "symbols": value}


@pytest.mark.django_db
def test_a_body_nested_100000_deep_is_a_400_problem(api, caller, sandbox_only):
    # when
    response = api.post(LATEST, DEEP, content_type="application/json", headers=caller.headers)

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "deeper than 64 levels" in response.json()["detail"]
    assert LedgerEntry.objects.get().status == "rejected"  # recorded as a refusal, not charged


@pytest.mark.django_db
def test_nesting_just_past_the_setting_is_refused_and_at_it_is_read(
    api, caller, sandbox_only, settings
):
    # given
    settings.GATEWAY_MAX_JSON_DEPTH = 8
    post = lambda payload: api.post(  # noqa: E731
        LATEST, json.dumps(payload), content_type="application/json", headers=caller.headers
    )

    # when: the object is one level, so symbols' lists add up to 8, then 9
    at_limit, past_limit = post(nested(7)), post(nested(8))

    # then: at the limit the schema judges the payload; past it, it is refused unread
    assert at_limit.status_code == 400 and "errors" in at_limit.json()
    assert past_limit.status_code == 400 and "deeper than 8" in past_limit.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "k" * 10_000},
        {"Idempotency-Key": "bad\x7fkey"},
        {"Idempotency-Key": ""},
        {"X-Request-ID": "r" * 10_000},
        {"X-Request-ID": "<script>\x01"},
        {"Prefer": "respond-async;" * 2_000},
        {"Prefer": "respond-async", "X-Callback-URL": "javascript:alert(1)"},
        {"Content-Type": "application/xml"},
        {"Content-Type": "x" * 10_000},
        {"X-Requester-Country": "ÄÄ"},
        {"Authorization": "Api-Key " + "k" * 10_000},
        {"Authorization": "Bearer not.a.jwt"},
        {"X-API-Key": "\x00"},
    ],
)
def test_malformed_headers_are_never_a_500(api, caller, sandbox_only, headers):
    # given the client's key, unless the case replaces it
    sent = {**caller.headers, **headers}

    # when
    response = api.post(
        LATEST,
        b'{"base": "EUR"}',
        content_type=sent.pop("Content-Type", "application/json"),
        headers=sent,
    )

    # then: served, or refused with a problem that carries a request id
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["request_id"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) <= 128


@pytest.mark.django_db(transaction=True)
def test_the_asgi_endpoint_answers_a_deep_body_with_a_400(live_gateway, caller, sandbox_only):
    # when the production endpoint gets a 100,000-deep body, then a normal call
    url = f"{live_gateway}{LATEST}"
    deep = httpx.post(url, content=DEEP, headers=caller.headers)
    normal = httpx.post(url, json={"base": "EUR", "symbols": ["USD"]}, headers=caller.headers)

    # then the first is a problem and the worker is still serving
    assert deep.status_code == 400
    assert deep.headers["Content-Type"] == "application/problem+json"
    assert "deeper than" in deep.json()["detail"]
    assert normal.status_code == 200


@pytest.mark.django_db
def test_a_deep_webhook_body_is_a_400_before_any_vendor_reads_it(api):
    # given a provider that posts webhooks (Mailgun reads its JSON body to find the signature)
    assert Provider.objects.filter(slug="mailgun").exists()

    # when
    response = api.post("/api/v1/webhooks/mailgun/", DEEP, content_type="application/json")

    # then
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "deeper than" in response.json()["detail"]
