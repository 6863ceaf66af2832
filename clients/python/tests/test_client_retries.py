"""The client's own retries, against a gateway faked with respx in its documented answers."""

import json

import httpx
import pytest
import respx

from gateway_client import (
    AsyncGateway,
    ConnectionFailed,
    Gateway,
    OutcomeUnknown,
    ProvidersFailed,
    RateLimited,
    Unavailable,
    aclient,
    client,
)

BASE = "http://gw.test"
LATEST = f"{BASE}/api/v1/services/currency/latest_rates/"
SEND = f"{BASE}/api/v1/services/email/send/"
META = [
    {
        "slug": "currency",
        "name": "Currency",
        "description": "",
        "methods": [{"key": "currency.latest_rates", "name": "latest_rates", "idempotent": True}],
    },
    {
        "slug": "email",
        "name": "Email",
        "description": "",
        "methods": [{"key": "email.send", "name": "send", "idempotent": False}],
    },
]
OK = {"request_id": "r-1", "service": "currency", "method": "latest_rates", "data": {"a": 1}}


def problem(status: int, kind: str, **headers: str) -> httpx.Response:
    body = {"type": f"/problems/{kind}", "title": kind, "status": status, "request_id": "r-x"}
    return httpx.Response(
        status, json=body, headers={"Content-Type": "application/problem+json", **headers}
    )


def ok(**headers: str) -> httpx.Response:
    return httpx.Response(200, json=OK, headers={"X-Provider": "p", "X-Price": "0.0100", **headers})


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(client, "_sleep", slept.append)

    async def asleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(aclient, "_sleep", asleep)
    return slept


@pytest.fixture
def gateway() -> respx.MockRouter:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.get("/api/v1/services/").respond(json=META)
        yield router


def keys(route: respx.Route) -> list[str | None]:
    return [call.request.headers.get("Idempotency-Key") for call in route.calls]


def test_a_429_is_retried_after_its_retry_after(gateway, pauses):
    route = gateway.post(LATEST).mock(
        side_effect=[problem(429, "rate-limited", **{"Retry-After": "3"}), ok()]
    )

    result = Gateway(BASE, "k").currency.latest_rates(base="EUR")

    assert result.data == {"a": 1}
    assert route.call_count == 2
    assert pauses == [3.0]


def test_a_retry_after_beyond_the_limit_is_raised_with_its_seconds(gateway, pauses):
    gateway.post(LATEST).mock(return_value=problem(429, "rate-limited", **{"Retry-After": "600"}))

    with pytest.raises(RateLimited) as raised:
        Gateway(BASE, "k").call("currency.latest_rates", base="EUR")

    assert raised.value.retry_after == 600.0
    assert pauses == []


def test_a_method_that_is_not_idempotent_keeps_one_generated_key_across_retries(gateway, pauses):
    route = gateway.post(SEND).mock(
        side_effect=[
            httpx.ConnectError("refused"),
            problem(503, "no-provider-available"),
            httpx.Response(200, json={**OK, "method": "send"}),
        ]
    )

    Gateway(BASE, "k").email.send(subject="hi")

    sent = keys(route)
    assert len(sent) == 3
    assert sent[0] and len(set(sent)) == 1
    assert json.loads(route.calls[2].request.content) == {"subject": "hi"}


def test_an_idempotent_method_gets_no_generated_key(gateway, pauses):
    route = gateway.post(LATEST).mock(side_effect=[problem(502, "providers-failed"), ok()])

    Gateway(BASE, "k").currency.latest_rates(base="EUR")

    assert keys(route) == [None, None]


def test_a_key_given_by_the_caller_is_sent_on_every_retry(gateway, pauses):
    route = gateway.post(SEND).mock(side_effect=[httpx.ReadTimeout("slow"), ok()])

    Gateway(BASE, "k").call("email.send", subject="hi", idempotency_key="mine-1")

    assert keys(route) == ["mine-1", "mine-1"]


@pytest.mark.parametrize(
    "answer",
    [httpx.ReadTimeout("slow"), problem(502, "providers-failed"), problem(503, "outcome-unknown")],
    ids=["timeout", "providers-failed", "outcome-unknown"],
)
def test_without_a_key_a_call_that_may_have_run_is_not_sent_again(gateway, pauses, answer):
    route = gateway.post(SEND).mock(side_effect=[answer, ok()])
    gw = Gateway(BASE, "k", auto_idempotency_keys=False)

    with pytest.raises((ConnectionFailed, ProvidersFailed, OutcomeUnknown)):
        gw.email.send(subject="hi")

    assert route.call_count == 1
    assert keys(route) == [None]


def test_outcome_unknown_with_a_key_is_retried_until_the_stored_answer(gateway, pauses):
    route = gateway.post(SEND).mock(
        side_effect=[
            problem(503, "outcome-unknown", **{"Retry-After": "1"}),
            problem(409, "idempotency-key-in-flight"),
            ok(**{"Idempotent-Replayed": "true"}),
        ]
    )

    result = Gateway(BASE, "k").email.send(subject="hi")

    assert result.replayed
    assert len(set(keys(route))) == 1
    assert pauses[0] == 1.0


def test_a_stored_failure_replayed_is_not_asked_again(gateway, pauses):
    route = gateway.post(SEND).mock(
        return_value=problem(502, "providers-failed", **{"Idempotent-Replayed": "true"})
    )

    with pytest.raises(ProvidersFailed) as raised:
        Gateway(BASE, "k").email.send(subject="hi")

    assert raised.value.replayed
    assert route.call_count == 1


def test_the_client_gives_up_after_max_retries_with_jittered_backoff(gateway, pauses):
    route = gateway.post(LATEST).mock(return_value=problem(503, "no-provider-available"))

    with pytest.raises(Unavailable) as raised:
        Gateway(BASE, "k", max_retries=3).currency.latest_rates(base="EUR")

    assert route.call_count == 4
    assert raised.value.status == 503
    assert raised.value.request_id == "r-x"
    for retry, pause in enumerate(pauses):
        assert 0.25 * 2**retry <= pause <= 0.5 * 2**retry


def test_connection_errors_end_in_connection_failed(gateway, pauses):
    route = gateway.post(LATEST).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ConnectionFailed):
        Gateway(BASE, "k", max_retries=1).currency.latest_rates(base="EUR")

    assert route.call_count == 2


def test_max_retries_zero_sends_once_and_generates_no_key(gateway, pauses):
    route = gateway.post(SEND).mock(return_value=problem(503, "no-provider-available"))

    with pytest.raises(Unavailable):
        Gateway(BASE, "k", max_retries=0).email.send(subject="hi")

    assert keys(route) == [None]


async def test_the_async_gateway_retries_with_the_same_key(gateway, pauses):
    route = gateway.post(SEND).mock(
        side_effect=[problem(429, "rate-limited", **{"Retry-After": "2"}), ok()]
    )

    async with AsyncGateway(BASE, "k") as agw:
        result = await agw.email.send(subject="hi")

    assert result.price is not None
    assert len(keys(route)) == 2
    assert len(set(keys(route))) == 1
    assert pauses == [2.0]
