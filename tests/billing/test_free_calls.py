"""A plan's monthly free calls: free while they last, never lost to a failed call, counted
once per client x method x month (in Redis, rebuilt from the ledger when Redis lost it)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.models import Price
from apps.core import state
from apps.ledger.models import LedgerEntry
from tests.integrations.currency.vendor_answers import FIXER_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db


def post(api, headers):
    body = json.dumps({"base": "EUR"})
    return api.post(LATEST, body, content_type="application/json", headers=headers)


@pytest.fixture
def two_free_calls(caller):
    Price.objects.filter(plan=caller.client.plan, method__slug="latest_rates").update(free_calls=2)
    caller.client.plan.save()  # drops the cached snapshot, like an edit in the admin
    return caller


def ledger_rows():
    return list(LedgerEntry.objects.order_by("id").values_list("status", "price", "free_call"))


def test_the_first_calls_of_the_month_are_free(api, two_free_calls, fixer):
    # when the client calls three times
    responses = [post(api, two_free_calls.headers) for _ in range(3)]

    # then two were free, the third charged at the plan's price
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r["X-Price"] for r in responses] == ["0.0000", "0.0000", "0.0100"]
    assert ledger_rows() == [
        ("succeeded", Decimal("0"), True),
        ("succeeded", Decimal("0"), True),
        ("succeeded", Decimal("0.0100"), False),
    ]
    assert Client.objects.get(pk=two_free_calls.client.pk).balance == Decimal("-0.0100")


def test_a_prepaid_client_with_nothing_left_can_make_its_free_calls(api, two_free_calls, fixer):
    # given a prepaid client with an empty balance
    two_free_calls.client.credit_limit = Decimal("0")
    two_free_calls.client.save()

    # when
    statuses = [post(api, two_free_calls.headers).status_code for _ in range(3)]

    # then
    assert statuses == [200, 200, 402]


def test_a_failed_call_does_not_use_up_a_free_call(api, two_free_calls, fixer):
    # given fixer fails once
    fixer.respond(status_code=503)
    assert post(api, two_free_calls.headers).status_code == 502

    # when it recovers
    fixer.respond(json=FIXER_LATEST)
    prices = [post(api, two_free_calls.headers)["X-Price"] for _ in range(3)]

    # then both free calls are still there
    assert prices == ["0.0000", "0.0000", "0.0100"]
    assert ledger_rows()[0] == ("failed", Decimal("0"), False)


def test_the_counter_is_rebuilt_from_the_ledger_when_redis_lost_it(api, two_free_calls, fixer):
    # given both free calls used, then Redis restarted empty
    post(api, two_free_calls.headers)
    post(api, two_free_calls.headers)
    state.sync_client().flushdb()

    # when
    response = post(api, two_free_calls.headers)

    # then the ledger remembers: the call is charged
    assert response["X-Price"] == "0.0100"


def test_a_new_month_brings_new_free_calls(api, two_free_calls, fixer):
    # given both free calls used last month
    last_month = timezone.localtime().replace(day=1) - timedelta(days=3)
    with time_machine.travel(last_month, tick=True):
        assert [post(api, two_free_calls.headers)["X-Price"] for _ in range(3)] == [
            "0.0000",
            "0.0000",
            "0.0100",
        ]

    # when the client calls this month
    response = post(api, two_free_calls.headers)

    # then it is free again
    assert response["X-Price"] == "0.0000"
