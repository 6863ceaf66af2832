"""A served call whose settle the database cannot take: kept pending, billed once, and its
Idempotency-Key stays taken so that a retry never reaches the provider again."""

import json
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import OperationalError
from django.utils import timezone

from apps.accounts.models import Client
from apps.billing.idempotency import idempotency_begin
from apps.billing.models import CreditHold, IdempotencyKey
from apps.billing.pending import settle_pending_mark, settle_pending_marked
from apps.billing.services import HeldCredit
from apps.core.errors import IdempotencyKeyInFlight
from apps.gateway.settle import pending_settle, settle_pending_apply
from apps.gateway.stages import GatewayResponse
from apps.ledger.models import LedgerEntry
from apps.ledger.services import credit_hold_release_dangling
from tests.support.asgi import GatewayClient
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"
PRICE = Decimal("0.0100")


def _abandoned_key(client: Client, request_id: str) -> IdempotencyKey:
    """An IN_FLIGHT key whose lease has passed, as a call's key looks while its settle waits
    for the database."""
    long_ago = timezone.now() - timedelta(minutes=5)
    return IdempotencyKey.objects.create(
        client=client,
        method="currency.latest_rates",
        key="k-1",
        payload_hash="h",
        request_id=request_id,
        created_at=long_ago,
        locked_until=long_ago + timedelta(seconds=65),
    )


def _begin(client: Client, request_id: str) -> int | object:
    return idempotency_begin(
        client_id=client.pk,
        method="currency.latest_rates",
        key="k-1",
        payload_hash="h",
        request_id=request_id,
        lease=timedelta(seconds=65),
    )


def _hold(client: Client, request_id: str) -> CreditHold:
    Client.objects.filter(pk=client.pk).update(held=PRICE)
    return CreditHold.objects.create(
        client=client,
        request_id=request_id,
        method="currency.latest_rates",
        amount=PRICE,
        created_at=timezone.now() - timedelta(minutes=5),
    )


@pytest.mark.django_db
def test_a_key_past_its_lease_is_not_taken_over_while_its_hold_is_open(caller):
    # given a call past its lease whose hold is still open (it may have been served)
    _abandoned_key(caller.client, "first")
    hold = _hold(caller.client, "first")

    # when a retry with the same key arrives, then it is told to wait
    with pytest.raises(IdempotencyKeyInFlight):
        _begin(caller.client, "retry")

    # and once the hold is released (the call recorded as interrupted) the retry runs
    credit_hold_release_dangling(hold=hold)
    assert isinstance(_begin(caller.client, "retry"), int)
    assert IdempotencyKey.objects.get().request_id == "retry"


@pytest.mark.django_db
def test_a_key_past_its_lease_is_not_taken_over_while_its_settle_is_pending(caller):
    # given a free call (no hold) past its lease whose settle is pending
    _abandoned_key(caller.client, "free-first")
    settle_pending_mark(client_id=caller.client.pk, request_id="free-first")

    # when a retry with the same key arrives, then it is told to wait
    with pytest.raises(IdempotencyKeyInFlight):
        _begin(caller.client, "retry")
    assert IdempotencyKey.objects.get().request_id == "free-first"


@pytest.mark.django_db
def test_the_dangling_hold_release_leaves_a_pending_settles_hold(caller):
    # given a hold whose call was served while the database was away
    hold = _hold(caller.client, "served")
    settle_pending_mark(client_id=caller.client.pk, request_id="served")

    # when the dangling holds are released
    released = credit_hold_release_dangling(hold=hold)

    # then this one is left to its settle: no "interrupted, unbilled" row
    assert released is None
    assert CreditHold.objects.filter(pk=hold.pk).exists()
    assert not LedgerEntry.objects.filter(request_id="served").exists()


def _pending(client: Client, hold: CreditHold | None, key: IdempotencyKey) -> dict:
    body = {"request_id": "served", "status": "succeeded", "data": {"base": "EUR"}}
    fields = {
        "request_id": "served",
        "client_id": client.pk,
        "api_key_id": None,
        "service": "currency",
        "method": "latest_rates",
        "provider": "fixer",
        "status": LedgerEntry.Status.SUCCEEDED,
        "http_status": 200,
        "error_type": "",
        "error_detail": "",
        "cost": Decimal("0.0010"),
        "price": PRICE,
        "currency": "EUR",
        "cached": False,
        "free_call": False,
        "attempts": [{"provider": "fixer", "outcome": "ok", "latency_ms": 5}],
        "routing": {},
        "latency_ms": 12,
        "channel": "http",
        "source_ip": None,
        "country": "DE",
    }
    return pending_settle(
        fields=fields,
        hold=HeldCredit(id=hold.pk, amount=hold.amount) if hold else None,
        response=GatewayResponse(status=200, body=body, headers={"X-Provider": "fixer"}),
        idempotency_id=key.pk,
        on_recorded=None,
        async_call_id=None,
    )


@pytest.mark.django_db
def test_a_pending_settle_written_twice_charges_once(caller):
    # given a served call's pending settle, as the task gets it (JSON)
    hold = _hold(caller.client, "served")
    key = _abandoned_key(caller.client, "served")
    settle_pending_mark(client_id=caller.client.pk, request_id="served")
    pending = json.loads(json.dumps(_pending(caller.client, hold, key)))

    # when the task is delivered twice
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.db.transaction.on_commit", lambda fn, *a, **k: fn())
        first = settle_pending_apply(pending)
        second = settle_pending_apply(pending)

    # then one row, charged once, the hold gone, the key completed with the served answer
    assert (first, second) == (True, False)
    [row] = LedgerEntry.objects.filter(request_id="served")
    assert (row.status, row.amount, row.provider) == ("succeeded", -PRICE, "fixer")
    client = Client.objects.get(pk=caller.client.pk)
    assert (client.balance, client.held) == (-PRICE, Decimal("0"))
    assert not CreditHold.objects.exists()
    key.refresh_from_db()
    assert (key.state, key.response_status) == ("completed", 200)
    assert key.response_body["request_id"] == "served"
    assert not settle_pending_marked(client_id=caller.client.pk, request_id="served")


@pytest.mark.django_db(transaction=True)
def test_a_served_call_whose_row_cannot_be_written_is_503_then_replayed_and_charged_once(
    api, caller, fixer, monkeypatch
):
    # given a database that refuses the first call's settle, every time the request tries it
    monkeypatch.setattr("apps.gateway.recording.aledger_record_call", connection_lost)
    monkeypatch.setattr("apps.gateway.outcome_unknown.settle_pending_apply", connection_lost)
    headers = {**caller.headers, "Idempotency-Key": "send-once"}
    body = json.dumps({"base": "EUR"})

    # when the client calls, and retries with the same key once the settle is written
    first = api.post(LATEST, body, content_type="application/json", headers=headers)
    wait_until(
        LedgerEntry.objects.filter(request_id=first.json()["request_id"]).exists,
        timeout=15,
        what="the pending settle to be written",
    )
    retry = api.post(LATEST, body, content_type="application/json", headers=headers)

    # then the first answer said the outcome is being recorded, not that the call failed
    assert first.status_code == 503
    assert first["Content-Type"] == "application/problem+json"
    assert first.json()["type"].endswith("/outcome-unknown")
    # and the retry got the served answer of the first call, which the provider saw once
    assert retry.status_code == 200
    assert retry.json()["request_id"] == first.json()["request_id"]
    assert fixer.call_count == 1
    [row] = LedgerEntry.objects.filter(client=caller.client)
    assert (row.status, row.amount) == ("succeeded", -PRICE)
    client = Client.objects.get(pk=caller.client.pk)
    assert (client.balance, client.held) == (-PRICE, Decimal("0"))
    assert not CreditHold.objects.exists()


def connection_lost(*args, **kwargs):
    """What Django raises when PostgreSQL drops the connection: its OperationalError, caused
    by the driver's (no SQLSTATE: the client's own error)."""
    try:
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    except psycopg.OperationalError as cause:
        raise OperationalError("server closed the connection unexpectedly") from cause


@pytest.mark.django_db(transaction=True)
def test_a_settle_committed_before_its_connection_went_is_not_charged_again(
    api, caller, fixer, monkeypatch
):
    # given a database that commits the call's settle, then loses the connection before the
    # gateway hears so (the retry must not write a second row nor take the price twice)
    from apps.ledger.services import aledger_record_call

    async def committed_then_lost(**fields):
        await aledger_record_call(**fields)
        connection_lost()

    monkeypatch.setattr("apps.gateway.recording.aledger_record_call", committed_then_lost)

    # when the client calls
    response = api.post(
        LATEST, json.dumps({"base": "EUR"}), content_type="application/json", headers=caller.headers
    )

    # then it is served, with one row, charged once
    assert response.status_code == 200, response.content
    [row] = LedgerEntry.objects.filter(client=caller.client)
    assert (row.request_id, row.status, row.amount) == (
        response.json()["request_id"],
        "succeeded",
        -PRICE,
    )
    client = Client.objects.get(pk=caller.client.pk)
    assert (client.balance, client.held) == (-PRICE, Decimal("0"))
    assert not CreditHold.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_bug_in_the_settle_is_not_taken_for_the_database_being_away(
    api, caller, fixer, monkeypatch
):
    # given a settle that fails for a reason of its own (not the database being away)
    def deadlock(**fields):
        try:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        except psycopg.Error as cause:
            raise OperationalError("deadlock detected") from cause

    monkeypatch.setattr("apps.gateway.recording.aledger_record_call", deadlock)

    # when the client calls
    response = GatewayClient(raise_request_exception=False).post(
        LATEST, json.dumps({"base": "EUR"}), content_type="application/json", headers=caller.headers
    )

    # then it is the gateway's own 500 problem, not "outcome unknown, will be charged" (nothing
    # would ever charge it), and no settle is left pending to hold its credit for days
    assert response.status_code == 500
    assert response.json()["type"].endswith("/internal-error")
    assert not settle_pending_marked(
        client_id=caller.client.pk, request_id=response.json()["request_id"]
    )
