"""The client against a live gateway (uvicorn, the real pipeline, PostgreSQL and Redis)."""

from decimal import Decimal

import pytest

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from gateway_client import (
    AsyncGateway,
    Document,
    Gateway,
    NotFound,
    Unauthorized,
    ValidationFailed,
)


def test_methods_are_discovered_from_the_meta_endpoint_and_called(gw):
    # when the user calls a method by attribute, as the catalog lists it
    result = gw.currency.latest_rates(base="EUR", symbols=["USD"])

    # then the answer, who served it and what it cost are at hand
    assert result.data["base"] == "EUR"
    assert set(result.data["rates"]) == {"USD"}
    assert result.provider == "sandbox"
    assert result.price == Decimal("0.0100")
    assert LedgerEntry.objects.get(request_id=result.request_id).price == Decimal("0.0100")
    assert {"convert", "latest_rates"} <= set(dir(gw.currency))
    with pytest.raises(AttributeError, match="no method 'lates_rates'"):
        gw.currency.lates_rates  # noqa: B018


def test_call_by_name_takes_fields_that_are_python_keywords(gw):
    result = gw.call("currency.convert", **{"from": "EUR", "to": "USD", "amount": "10"})

    assert result.data["from"] == "EUR"
    assert result.data["result"] == "10.82"
    assert result.price == Decimal("0.0050")


def test_a_replay_with_the_same_idempotency_key_returns_the_first_call(gw, user):
    first = gw.call("currency.latest_rates", base="GBP", idempotency_key="k-1")
    again = gw.call("currency.latest_rates", base="GBP", idempotency_key="k-1")

    assert again.request_id == first.request_id
    assert (first.replayed, again.replayed) == (False, True)
    assert again.data == first.data
    assert LedgerEntry.objects.filter(client=user.client).count() == 1
    assert Client.objects.get(pk=user.client.pk).balance == Decimal("-0.0100")


def test_a_payload_that_fails_the_schema_raises_validation_failed_with_its_fields(gw):
    with pytest.raises(ValidationFailed) as raised:
        gw.currency.latest_rates(base="euro", symbols=["USD"])

    error = raised.value
    assert error.status == 400
    assert error.type == "/problems/validation-error"
    assert set(error.errors) == {"base"}
    assert error.request_id
    assert "base" in str(error)


def test_an_unknown_key_raises_unauthorized(live_gateway, user):
    with Gateway(base_url=live_gateway, api_key="nope.nope") as gateway:
        with pytest.raises(Unauthorized) as raised:
            gateway.call("currency.latest_rates", base="EUR")

    assert raised.value.status == 401
    assert raised.value.type == "/problems/not-authenticated"


def test_an_unknown_method_by_name_raises_not_found(gw):
    with pytest.raises(NotFound):
        gw.call("currency.nothing_here", base="EUR")


def test_a_document_method_returns_its_bytes_and_type(gw, tmp_path):
    document = gw.docs.html_to_pdf(html="<h1>Invoice 42</h1>", page_size="A5")

    assert isinstance(document, Document)
    assert document.content_type == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    assert document.price == Decimal("0.0200")
    assert document.filename == f"{document.request_id}.pdf"
    assert document.save(tmp_path / "invoice.pdf").read_bytes() == document.content


@pytest.mark.parametrize("via", ["websocket", "poll"])
def test_a_background_call_is_waited_for(gw, via):
    # given a call started with Prefer: respond-async
    pending = gw.submit("currency.latest_rates", base="EUR", symbols=["GBP"])
    assert pending.status_url == f"/api/v1/requests/{pending.request_id}/"

    # when the user waits for it
    done = pending.wait(timeout=20, via=via)

    # then its result is the synchronous call's, under the 202's request id
    assert done.request_id == pending.request_id
    assert done.data["rates"] == {"GBP": 0.8455}
    assert gw.request_status(pending.request_id)["status"] == "succeeded"


def test_a_background_call_that_fails_raises_its_problem_on_wait(gw):
    pending = gw.submit("currency.latest_rates", base="ZZZ")

    with pytest.raises(ValidationFailed) as raised:
        pending.wait(timeout=20)

    assert raised.value.status == 422
    assert raised.value.type == "/problems/invalid-input"


async def test_the_async_gateway_calls_and_waits(live_gateway, user):
    async with AsyncGateway(base_url=live_gateway, api_key=user.key) as agw:
        result = await agw.currency.latest_rates(base="EUR", symbols=["USD"])
        pending = await agw.submit("currency.convert", {"from": "EUR", "to": "GBP", "amount": "2"})
        done = await pending.wait(timeout=20, via="websocket")
        with pytest.raises(ValidationFailed):
            await agw.call("currency.latest_rates", base="x")

    assert result.provider == "sandbox"
    assert result.price == Decimal("0.0100")
    assert done.data["result"] == "1.69"
