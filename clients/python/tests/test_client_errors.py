"""Problems become exceptions, mapped from the gateway's problem types."""

import httpx
import pytest

from gateway_client import (
    DeadlineExceeded,
    Forbidden,
    Gateway,
    GatewayError,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    OutcomeUnknown,
    PaymentRequired,
    ProvidersFailed,
    RateLimited,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from gateway_client.errors import error_from_response

PROBLEMS = [
    (400, "validation-error", ValidationFailed),
    (400, "invalid-request", ValidationFailed),
    (401, "not-authenticated", Unauthorized),
    (402, "credit-limit-exceeded", PaymentRequired),
    (403, "forbidden", Forbidden),
    (404, "not-found", NotFound),
    (409, "idempotency-key-in-flight", IdempotencyKeyInFlight),
    (422, "invalid-input", InvalidInput),
    (422, "idempotency-key-reused", IdempotencyKeyReused),
    (429, "rate-limited", RateLimited),
    (502, "providers-failed", ProvidersFailed),
    (503, "no-provider-available", Unavailable),
    (503, "outcome-unknown", OutcomeUnknown),
    (504, "deadline-exceeded", DeadlineExceeded),
]


@pytest.mark.parametrize(("status", "kind", "cls"), PROBLEMS)
def test_each_problem_type_has_its_exception(status, kind, cls):
    body = {
        "type": f"/problems/{kind}",
        "title": "T",
        "status": status,
        "detail": "D",
        "request_id": "r-1",
        "errors": {"base": ["bad"]},
        "attempts": [{"provider": "fixer", "outcome": "timeout", "latency_ms": 2001}],
    }
    response = httpx.Response(status, json=body, headers={"Retry-After": "7"})

    error = error_from_response(response)

    assert type(error) is cls
    assert (error.status, error.type, error.title, error.detail) == (status, body["type"], "T", "D")
    assert error.request_id == "r-1"
    assert error.errors == {"base": ["bad"]}
    assert error.attempts[0]["provider"] == "fixer"
    if cls is RateLimited:
        assert error.retry_after == 7.0


def test_an_answer_that_is_not_a_problem_is_mapped_by_its_status():
    error = error_from_response(httpx.Response(502, text="<html>Bad gateway</html>"))

    assert isinstance(error, ProvidersFailed)
    assert error.status == 502
    assert isinstance(error_from_response(httpx.Response(500, json={})), GatewayError)


def test_retry_after_as_an_http_date_is_read_in_seconds():
    error = error_from_response(
        httpx.Response(429, json={}, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    )

    assert error.retry_after == 0.0  # in the past


def test_the_gateway_needs_a_url_and_a_key(monkeypatch):
    monkeypatch.delenv("GATEWAY_URL", raising=False)
    monkeypatch.setenv("GATEWAY_API_KEY", "k")
    with pytest.raises(ValueError, match="GATEWAY_URL"):
        Gateway()
    monkeypatch.setenv("GATEWAY_URL", "http://gw.test/")
    assert Gateway().config.base_url == "http://gw.test"
