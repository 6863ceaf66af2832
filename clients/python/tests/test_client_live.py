"""The client against a live gateway (uvicorn, the real pipeline, PostgreSQL and Redis).

Each test starts its own server (a few seconds), so one test follows a user's few steps."""

from decimal import Decimal

import pytest
from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry

from gateway_client import AsyncGateway, Document, Gateway, NotFound, Unauthorized, ValidationFailed


def test_methods_are_discovered_called_by_name_and_replayed(gw, user):
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

    # when it calls a method by name, with fields that are Python keywords
    converted = gw.call("currency.convert", **{"from": "EUR", "to": "USD", "amount": "10"})
    assert (converted.data["result"], converted.price) == ("10.82", Decimal("0.0050"))

    # when it sends the same Idempotency-Key twice, the second is the first call's answer
    first = gw.call("currency.latest_rates", base="GBP", idempotency_key="k-1")
    again = gw.call("currency.latest_rates", base="GBP", idempotency_key="k-1")
    assert again.request_id == first.request_id
    assert (first.replayed, again.replayed) == (False, True)
    assert again.data == first.data
    assert LedgerEntry.objects.filter(client=user.client).count() == 3
    assert Client.objects.get(pk=user.client.pk).balance == Decimal("-0.0250")

    # and its usage lists what it was charged
    usage = list(gw.usage(method="currency.convert"))
    assert [(row["request_id"], row["price"]) for row in usage] == [
        (converted.request_id, Decimal("0.0050"))
    ]
    assert len(list(gw.usage())) == 3


def test_problems_are_raised_as_their_exceptions(gw, live_gateway):
    # a payload that fails the method's schema
    with pytest.raises(ValidationFailed) as invalid:
        gw.currency.latest_rates(base="euro", symbols=["USD"])
    assert invalid.value.status == 400
    assert invalid.value.type == "/problems/validation-error"
    assert set(invalid.value.errors) == {"base"}
    assert invalid.value.request_id
    assert "base" in str(invalid.value)

    # a method the gateway does not have
    with pytest.raises(NotFound):
        gw.call("currency.nothing_here", base="EUR")

    # a key the gateway does not know
    stranger = Gateway(base_url=live_gateway, api_key="nope.nope")
    with stranger, pytest.raises(Unauthorized) as unknown:
        stranger.call("currency.latest_rates", base="EUR")
    assert unknown.value.status == 401
    assert unknown.value.type == "/problems/not-authenticated"


def test_a_document_method_returns_its_bytes_and_type(gw, tmp_path):
    document = gw.docs.html_to_pdf(html="<h1>Invoice 42</h1>", page_size="A5")

    assert isinstance(document, Document)
    assert document.content_type == "application/pdf"
    assert document.content.startswith(b"%PDF-")
    assert document.price == Decimal("0.0200")
    assert document.filename == f"{document.request_id}.pdf"
    assert document.save(tmp_path / "invoice.pdf").read_bytes() == document.content


def test_background_calls_are_waited_for_by_websocket_or_polling(gw):
    for via in ("websocket", "poll"):
        # given a call started with Prefer: respond-async
        pending = gw.submit("currency.latest_rates", base="EUR", symbols=["GBP"])
        assert pending.status_url == f"/api/v1/requests/{pending.request_id}/"

        # when the user waits for it
        done = pending.wait(timeout=20, via=via)

        # then its result is the synchronous call's, under the 202's request id
        assert done.request_id == pending.request_id
        assert done.data["rates"] == {"GBP": 0.8455}
        assert gw.request_status(pending.request_id)["status"] == "succeeded"

    # a background call that fails raises its problem when waited for
    failing = gw.submit("currency.latest_rates", base="ZZZ")
    with pytest.raises(ValidationFailed) as raised:
        failing.wait(timeout=20)
    assert (raised.value.status, raised.value.type) == (422, "/problems/invalid-input")


async def test_the_async_gateway_calls_and_waits(live_gateway, user):
    async with AsyncGateway(base_url=live_gateway, api_key=user.key) as agw:
        result = await agw.currency.latest_rates(base="EUR", symbols=["USD"])
        pending = await agw.submit("currency.convert", {"from": "EUR", "to": "GBP", "amount": "2"})
        done = await pending.wait(timeout=20, via="websocket")
        with pytest.raises(ValidationFailed):
            await agw.call("currency.latest_rates", base="x")
        usage = [row async for row in agw.usage(method="currency.latest_rates")]

    assert result.provider == "sandbox"
    assert result.price == Decimal("0.0100")
    assert done.data["result"] == "1.69"
    assert [row["request_id"] for row in usage if row["status"] == "succeeded"] == [
        result.request_id
    ]
