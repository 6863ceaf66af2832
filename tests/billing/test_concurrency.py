"""Money and limits under real concurrency: the ASGI app in two uvicorn processes, against
PostgreSQL and Redis, hit by many simultaneous calls."""

import asyncio
from collections import Counter
from decimal import Decimal

import httpx
import pytest

from apps.accounts.models import Client
from apps.billing.models import PlanRateLimit
from apps.ledger.models import LedgerEntry
from apps.ledger.selectors import ledger_balance_differences

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db(transaction=True)


def fire(base_url: str, headers: dict[str, str], calls: int) -> list[httpx.Response]:
    """`calls` POSTs sent at the same time, each on its own connection."""

    async def all_at_once() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=calls, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
            return await asyncio.gather(
                *(http.post(LATEST, json={"base": "EUR"}, headers=headers) for _ in range(calls))
            )

    return asyncio.run(all_at_once())


def test_concurrent_calls_never_spend_past_the_credit_limit(live_gateway, caller, sandbox_only):
    # given a client whose credit covers exactly 10 calls at 0.0100
    caller.client.credit_limit = Decimal("0.1000")
    caller.client.save(update_fields=["credit_limit"])

    # when it makes 50 calls at once
    responses = fire(live_gateway, caller.headers, 50)

    # then exactly 10 were served and charged, and 40 refused for credit
    assert Counter(r.status_code for r in responses) == {200: 10, 402: 40}
    assert {r.json()["type"] for r in responses if r.status_code == 402} == {
        "/problems/credit-limit-exceeded"
    }
    client = Client.objects.get(pk=caller.client.pk)
    assert (client.balance, client.held) == (Decimal("-0.1000"), Decimal("0"))
    rows = Counter(LedgerEntry.objects.values_list("status", "price"))
    assert rows == {("succeeded", Decimal("0.0100")): 10, ("rejected", Decimal("0")): 40}
    assert ledger_balance_differences() == []


def test_concurrent_calls_get_exactly_the_rate_limit(live_gateway, caller, sandbox_only):
    # given a plan allowing 100 currency calls an hour, and 5,000 calls in total
    plan = caller.client.plan
    PlanRateLimit.objects.create(plan=plan, scope="total", limit=5000, window="hour")
    PlanRateLimit.objects.create(plan=plan, scope="currency", limit=100, window="hour")

    # when the client makes 150 calls at once
    responses = fire(live_gateway, caller.headers, 150)

    # then exactly 100 get through and 50 are told to come back later
    assert Counter(r.status_code for r in responses) == {200: 100, 429: 50}
    served = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    # every response describes the tighter currency window: each call served counted once
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"100"}
    assert sorted(int(r.headers["X-RateLimit-Remaining"]) for r in served) == list(range(100))
    assert {r.headers["X-RateLimit-Remaining"] for r in refused} == {"0"}
    for response in responses:
        assert 0 < int(response.headers["X-RateLimit-Reset"]) <= 3600
    for response in refused:
        assert response.headers["Retry-After"] == response.headers["X-RateLimit-Reset"]
        assert response.json()["type"] == "/problems/rate-limited"
    assert LedgerEntry.objects.filter(status="succeeded").count() == 100
    assert LedgerEntry.objects.filter(status="rejected", http_status=429).count() == 50
