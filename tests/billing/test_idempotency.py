"""Idempotency-Key: a retry gets the first call's answer, with no second charge and no second
provider call; another payload is 422; a retry while the first runs is 409."""

import json
import threading
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
import time_machine
from django.utils import timezone

from apps.accounts.models import Client
from apps.catalog.models import Offering, Provider
from apps.catalog.services import catalog_cache_invalidate
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_topup
from tests import factories

LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"


def post(api, body, headers, url=LATEST):
    payload = body if isinstance(body, str) else json.dumps(body)
    return api.post(url, payload, content_type="application/json", headers=headers)


def balance_of(client) -> Decimal:
    return Client.objects.get(pk=client.pk).balance


@pytest.mark.django_db
def test_a_retry_gets_the_stored_answer_without_a_second_charge_or_provider_call(
    api, caller, fixer
):
    # given a call made with a key
    headers = {**caller.headers, "Idempotency-Key": "order-1001"}
    first = post(api, {"base": "EUR", "symbols": ["USD"]}, headers)

    # when the client retries it (the same payload, its keys in another order)
    second = post(api, '{"symbols": ["USD"], "base": "EUR"}', headers)

    # then it gets the same answer, under the first call's request id
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert second["X-Request-ID"] == first["X-Request-ID"] == first.json()["request_id"]
    assert (second["X-Provider"], second["X-Price"]) == ("fixer", "0.0100")
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    # and the provider was asked once, the client charged once, the ledger has one row
    assert fixer.call_count == 1
    assert LedgerEntry.objects.count() == 1
    assert balance_of(caller.client) == Decimal("-0.0100")


@pytest.mark.django_db
def test_the_original_systems_header_is_an_alias(api, caller, fixer):
    first = post(api, {"base": "EUR"}, {**caller.headers, "X-Idempotency-Key": "k-1"})
    second = post(api, {"base": "EUR"}, {**caller.headers, "Idempotency-Key": "k-1"})

    assert second.json()["request_id"] == first.json()["request_id"]
    assert fixer.call_count == 1


@pytest.mark.django_db
def test_the_drafts_quoted_form_is_the_same_key(api, caller, fixer):
    first = post(api, {"base": "EUR"}, {**caller.headers, "Idempotency-Key": '"k-2"'})
    second = post(api, {"base": "EUR"}, {**caller.headers, "Idempotency-Key": "k-2"})

    assert second.json()["request_id"] == first.json()["request_id"]


@pytest.mark.django_db
def test_the_same_key_with_another_payload_is_422_and_not_charged(api, caller, fixer):
    # given
    headers = {**caller.headers, "Idempotency-Key": "order-1002"}
    first = post(api, {"base": "EUR"}, headers)

    # when
    reused = post(api, {"base": "GBP"}, headers)

    # then
    assert reused.status_code == 422
    problem = reused.json()
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert first.json()["request_id"] in problem["detail"]
    assert fixer.call_count == 1
    assert balance_of(caller.client) == Decimal("-0.0100")
    row = LedgerEntry.objects.get(request_id=problem["request_id"])
    assert (row.status, row.http_status, row.price) == ("rejected", 422, Decimal("0"))


@pytest.mark.django_db
def test_keys_belong_to_one_client_and_one_method(api, caller, fixer):
    # given a key acme used for latest_rates (convert is served by the sandbox here)
    post(api, {"base": "EUR"}, {**caller.headers, "Idempotency-Key": "shared"})
    Provider.objects.filter(slug="sandbox").update(enabled=True)
    Offering.objects.filter(provider__slug="sandbox", method__slug="latest_rates").update(
        enabled=False
    )
    Offering.objects.filter(provider__slug="fixer", method__slug="convert").update(enabled=False)
    catalog_cache_invalidate()
    other = factories.ClientFactory(slug="globex", plan=caller.client.plan)
    other_headers = {"Authorization": f"Api-Key {factories.api_key_for(other)}"}

    # when another client, and another method, use the same key
    by_other = post(api, {"base": "EUR"}, {**other_headers, "Idempotency-Key": "shared"})
    converted = post(
        api,
        {"from": "EUR", "to": "USD", "amount": "2"},
        {**caller.headers, "Idempotency-Key": "shared"},
        url=CONVERT,
    )

    # then each is a call of its own
    assert (by_other.status_code, converted.status_code) == (200, 200)
    assert "Idempotent-Replayed" not in by_other
    assert "Idempotent-Replayed" not in converted
    assert fixer.call_count == 2
    assert LedgerEntry.objects.filter(status="succeeded").count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "key",
    ["", '""', "x" * 256, "caf\u00e9", "tab\there"],
    ids=["empty", "empty-quoted", "long", "non-ascii", "control"],
)
def test_a_malformed_key_is_400(api, caller, fixer, key):
    response = post(api, {"base": "EUR"}, {**caller.headers, "Idempotency-Key": key})

    assert response.status_code == 400
    assert "Idempotency-Key must be 1 to 255 printable" in response.json()["detail"]
    assert fixer.call_count == 0


@pytest.mark.django_db
def test_a_key_of_255_printable_characters_is_fine(api, caller, fixer):
    key = ("a-Z 0~" * 50)[:255]

    assert post(api, {}, {**caller.headers, "Idempotency-Key": key}).status_code == 200


@pytest.mark.django_db
def test_after_24_hours_the_key_may_be_used_afresh(api, caller, fixer):
    # given a call made with a key a day and an hour ago
    headers = {**caller.headers, "Idempotency-Key": "daily-report"}
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        first = post(api, {"base": "EUR"}, headers)

    # when the key comes again, with another payload
    again = post(api, {"base": "GBP"}, headers)

    # then it is a new call, charged as such
    assert again.status_code == 200
    assert again.json()["request_id"] != first.json()["request_id"]
    assert fixer.call_count == 2
    assert balance_of(caller.client) == Decimal("-0.0200")


@pytest.mark.django_db
def test_a_call_refused_for_credit_frees_its_key(api, caller, fixer):
    # given a client without credit whose call with a key was refused
    caller.client.credit_limit = Decimal("0")
    caller.client.save()
    headers = {**caller.headers, "Idempotency-Key": "after-top-up"}
    assert post(api, {"base": "EUR"}, headers).status_code == 402

    # when it tops up and retries with the same key
    ledger_topup(client=caller.client, amount=Decimal("1.00"), reason="card", staff_user=None)
    retry = post(api, {"base": "EUR"}, headers)

    # then the retry runs
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry
    assert balance_of(caller.client) == Decimal("0.9900")


@pytest.mark.django_db
def test_a_failed_call_is_replayed_not_sent_again(api, caller, fixer):
    # given a call every provider failed (not charged: the plan does not charge failures)
    fixer.respond(status_code=500)
    headers = {**caller.headers, "Idempotency-Key": "unlucky"}
    first = post(api, {"base": "EUR"}, headers)

    # when it is retried with the key
    second = post(api, {"base": "EUR"}, headers)

    # then the provider is not asked again: the answer is the stored one
    assert (first.status_code, second.status_code) == (502, 502)
    assert second["Content-Type"] == "application/problem+json"
    assert second.json() == first.json()
    assert fixer.call_count == 1
    assert balance_of(caller.client) == Decimal("0")


# --- while the first call runs ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_retry_while_the_first_call_runs_is_409(egress_private, live_gateway, caller, held_fixer):
    # given fixer as the only provider, holding its answer until the test lets it go
    Provider.objects.update(enabled=False)
    fixer = Provider.objects.get(slug="fixer")
    fixer.base_url, fixer.credentials, fixer.enabled = held_fixer.url, {"access_key": "k"}, True
    fixer.save()
    headers = {**caller.headers, "Idempotency-Key": "slow-one"}
    first: list[httpx.Response] = []
    running = threading.Thread(
        target=lambda: first.append(
            httpx.post(f"{live_gateway}{LATEST}", json={"base": "EUR"}, headers=headers, timeout=30)
        )
    )
    running.start()
    assert held_fixer.arrived.wait(timeout=30)

    # when the client retries while fixer is still answering the first call
    retry = httpx.post(f"{live_gateway}{LATEST}", json={"base": "EUR"}, headers=headers)
    held_fixer.release.set()
    running.join(timeout=30)
    after = httpx.post(f"{live_gateway}{LATEST}", json={"base": "EUR"}, headers=headers)

    # then the retry was told to wait, the first call went through, and later retries get it
    assert retry.status_code == 409
    assert retry.json()["type"] == "/problems/idempotency-key-in-flight"
    assert first[0].status_code == 200
    assert after.status_code == 200
    assert after.json()["request_id"] == first[0].json()["request_id"]
    assert len(held_fixer.requests) == 1
    assert Client.objects.get(pk=caller.client.pk).balance == Decimal("-0.0100")
