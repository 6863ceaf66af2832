"""Rate limits per plan (total, per service, per method) with per-client overrides, and the
X-RateLimit headers. Exactness under concurrency: test_concurrency.py."""

import json
from decimal import Decimal

import pytest

from apps.billing.models import ClientRateLimit, PlanRateLimit
from apps.ledger.models import LedgerEntry
from tests import factories

LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"
A_CONVERSION = {"from": "EUR", "to": "USD", "amount": "2"}

pytestmark = pytest.mark.django_db


def post(api, headers, url=LATEST, body=None):
    payload = json.dumps(body if body is not None else {"base": "EUR"})
    return api.post(url, payload, content_type="application/json", headers=headers)


def limits(plan, **scopes: str) -> None:
    for scope, rate in scopes.items():
        limit, window = rate.split("/")
        PlanRateLimit.objects.create(
            plan=plan, scope=scope.replace("__", "."), limit=int(limit), window=window
        )


def rate_headers(response) -> tuple[str, str, int]:
    return (
        response["X-RateLimit-Limit"],
        response["X-RateLimit-Remaining"],
        int(response["X-RateLimit-Reset"]),
    )


def test_the_headers_describe_the_window_closest_to_running_out(api, caller, sandbox_only):
    # given the original system's limits, and 3 conversions a day
    limits(caller.client.plan, total="5000/hour", currency="100/minute", currency__convert="3/day")

    # when
    rates = post(api, caller.headers)
    conversion = post(api, caller.headers, CONVERT, A_CONVERSION)

    # then each response describes its tightest window: currency, then convert
    limit, remaining, reset = rate_headers(rates)
    assert (limit, remaining) == ("100", "99") and 0 < reset <= 60
    limit, remaining, reset = rate_headers(conversion)
    assert (limit, remaining) == ("3", "2") and 0 < reset <= 86400


def test_error_responses_carry_the_headers_too(api, caller, sandbox_only):
    # given
    limits(caller.client.plan, total="10/hour")
    caller.client.credit_limit = Decimal("0")
    caller.client.save()

    # when a call is refused for credit, and another for its payload
    refused = post(api, caller.headers)
    invalid = post(api, caller.headers, body={"base": "euro"})

    # then both were counted and say so
    assert (refused.status_code, invalid.status_code) == (402, 400)
    assert rate_headers(refused)[:2] == ("10", "9")
    assert rate_headers(invalid)[:2] == ("10", "8")


def test_a_call_over_the_limit_is_429_with_retry_after_and_is_not_counted(
    api, caller, sandbox_only
):
    # given a limit of two currency.latest_rates calls an hour, both used
    limits(caller.client.plan, currency__latest_rates="2/hour")
    assert [post(api, caller.headers).status_code for _ in range(2)] == [200, 200]

    # when the client calls twice more
    refused = [post(api, caller.headers) for _ in range(2)]

    # then both are refused, uncharged, with the time to wait
    for response in refused:
        assert response.status_code == 429
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["type"] == "/problems/rate-limited"
        assert "2/hour calls to currency.latest_rates" in response.json()["detail"]
        limit, remaining, reset = rate_headers(response)
        assert (limit, remaining) == ("2", "0") and 0 < reset <= 3600
        assert response["Retry-After"] == str(reset)
    rows = list(LedgerEntry.objects.order_by("id").values_list("http_status", "price"))
    assert rows == [(200, Decimal("0.0100"))] * 2 + [(429, Decimal("0"))] * 2
    # and the refused calls were not counted: a limit of 3 lets exactly one more through
    PlanRateLimit.objects.filter(scope="currency.latest_rates").update(limit=3)
    caller.client.plan.save()  # the plan's limits are read from the refreshed snapshot
    assert post(api, caller.headers).status_code == 200
    assert post(api, caller.headers).status_code == 429


def test_other_methods_are_not_held_back_by_a_method_limit(api, caller, sandbox_only):
    limits(caller.client.plan, currency__latest_rates="1/hour")
    post(api, caller.headers)

    assert post(api, caller.headers).status_code == 429
    assert post(api, caller.headers, CONVERT, A_CONVERSION).status_code == 200


def test_a_client_override_replaces_the_plans_limit_of_that_scope(api, caller, sandbox_only):
    # given a plan allowing 1 currency call a day; acme negotiated 3
    limits(caller.client.plan, currency="1/day")
    ClientRateLimit.objects.create(client=caller.client, scope="currency", limit=3, window="day")
    other = factories.ClientFactory(slug="globex", plan=caller.client.plan)
    other_headers = {"Authorization": f"Api-Key {factories.api_key_for(other)}"}

    # when each calls three times
    acme = [post(api, caller.headers).status_code for _ in range(3)]
    globex = [post(api, other_headers).status_code for _ in range(3)]

    # then
    assert acme == [200, 200, 200]
    assert globex == [200, 429, 429]


def test_an_unlimited_client_gets_no_rate_limit_headers(api, caller, sandbox_only):
    response = post(api, caller.headers)

    assert response.status_code == 200
    assert "X-RateLimit-Limit" not in response
    assert "X-RateLimit-Remaining" not in response


def test_limits_work_without_redis_in_the_embedded_run(api, caller, sandbox_only, settings):
    # given the embedded run (no REDIS_URL: one process, counters in its memory)
    settings.REDIS_URL = ""
    limits(caller.client.plan, total="2/minute")

    # when
    statuses = [post(api, caller.headers).status_code for _ in range(3)]

    # then
    assert statuses == [200, 200, 429]


def test_calls_are_served_unlimited_while_redis_is_down(api, caller, sandbox_only, settings):
    # given limits, and a Redis that refuses connections
    limits(caller.client.plan, total="1/hour")
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    # when
    statuses = [post(api, caller.headers).status_code for _ in range(3)]

    # then calls go on (and are charged), rather than the gateway going down with Redis
    assert statuses == [200, 200, 200]
    assert LedgerEntry.objects.filter(price=Decimal("0.0100")).count() == 3
