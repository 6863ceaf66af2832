"""The SendGrid adapter against SendGrid's documented Mail Send answers (respx)."""

import base64
import json

import httpx
import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    OUTCOME_MISCONFIGURED,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.email.providers.sendgrid import SendGrid, message_id_of
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import SENDGRID_ACCEPTED_HEADERS, sendgrid_errors

MAIL_SEND = "https://api.sendgrid.com/v3/mail/send"
PDF = base64.b64encode(b"%PDF-1.7 invoice").decode()


@pytest.fixture
def sendgrid(adapter):
    return adapter(SendGrid, api_key="SG.key")


async def test_the_message_goes_to_mail_send_with_the_bearer_key(respx_mock, sendgrid, call):
    # given
    route = respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    message = {
        **MESSAGE,
        "cc": [{"email": "cc@example.org"}],
        "bcc": [{"email": "audit@shop.example", "name": "Audit"}],
        "reply_to": {"email": "help@shop.example", "name": "Help desk"},
        "body_html": "<p>Thank you</p>",
        "attachments": [{"name": "invoice.pdf", "content_type": "application/pdf", "content": PDF}],
    }

    # when
    answer = await call(sendgrid, "send", message)

    # then
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer SG.key"
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {
        "personalizations": [
            {
                "to": [
                    {"email": "ann@example.org", "name": "Ann Lee"},
                    {"email": "bob@example.org"},
                ],
                "cc": [{"email": "cc@example.org"}],
                "bcc": [{"email": "audit@shop.example", "name": "Audit"}],
            }
        ],
        "from": {"email": "billing@shop.example", "name": "Shop Billing"},
        "reply_to": {"email": "help@shop.example", "name": "Help desk"},
        "subject": "Your invoice",
        "content": [
            {"type": "text/plain", "value": "Thank you for your order."},
            {"type": "text/html", "value": "<p>Thank you</p>"},
        ],
        "attachments": [
            {
                "content": PDF,
                "type": "application/pdf",
                "filename": "invoice.pdf",
                "disposition": "attachment",
            }
        ],
    }
    assert answer == {"accepted": True, "message_id": "HsJwG8EbRTaCRpyC0PDHKQ"}


async def test_wrapped_base64_is_sent_unwrapped(respx_mock, sendgrid, call):
    # given base64 wrapped at 76 characters, as MIME encoders write it
    content = base64.encodebytes(b"x" * 200).decode()
    assert "\n" in content
    route = respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    attachment = {"name": "x.bin", "content_type": "application/octet-stream", "content": content}

    # when
    await call(sendgrid, "send", {**MESSAGE, "attachments": [attachment]})

    # then
    sent = json.loads(route.calls.last.request.content)["attachments"][0]["content"]
    assert sent == base64.b64encode(b"x" * 200).decode()


async def test_transform_css_inlines_the_style_rules(respx_mock, sendgrid, call):
    # given
    route = respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    html = "<html><head><style>p.total {color: #c00}</style></head><body><p class='total'>42</p>"

    # when
    await call(sendgrid, "send", {**MESSAGE, "body_html": html, "transform_css": True})

    # then
    sent_html = json.loads(route.calls.last.request.content)["content"][1]["value"]
    assert '<p class="total" style="color:#c00">42</p>' in sent_html
    assert "<style>" not in sent_html


async def test_an_invalid_message_is_the_clients_input_naming_the_field(respx_mock, sendgrid, call):
    # given SendGrid's 400 for a bad address
    respx_mock.post(MAIL_SEND).respond(
        400,
        json=sendgrid_errors(
            ("from.email", "The from email does not contain a valid address."),
            ("personalizations.0.to.1.email", "Does not contain a valid address."),
        ),
    )

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(sendgrid, "send", MESSAGE)

    # then
    assert raised.value.errors == {
        "from_email": ["The from email does not contain a valid address."],
        "to": ["Does not contain a valid address."],
    }


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "The provided authorization grant is invalid, expired, or revoked"),
        (403, "The from address does not match a verified Sender Identity."),
    ],
)
async def test_refused_keys_and_unverified_senders_are_faults(
    respx_mock, sendgrid, call, status, message
):
    # given
    respx_mock.post(MAIL_SEND).respond(status, json=sendgrid_errors((None, message)))

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(sendgrid, "send", MESSAGE)

    # then another provider may send it
    assert raised.value.outcome == OUTCOME_AUTH
    assert message in raised.value.detail
    assert "SG.key" not in raised.value.detail


async def test_a_payload_too_large_from_a_proxy_names_the_attachments(respx_mock, sendgrid, call):
    respx_mock.post(MAIL_SEND).respond(413, html="<html>413 Request Entity Too Large</html>")

    with pytest.raises(InvalidInput) as raised:
        await call(sendgrid, "send", MESSAGE)

    assert list(raised.value.errors or {}) == ["attachments"]


@pytest.mark.parametrize(
    ("response", "outcome"),
    [
        (httpx.Response(500, json=sendgrid_errors((None, "internal error"))), OUTCOME_HTTP_ERROR),
        (httpx.Response(429, headers={"Retry-After": "5"}), OUTCOME_QUOTA),
        (httpx.Response(202), OUTCOME_MALFORMED),  # accepted, but no message id to give
    ],
    ids=["500", "429", "202-without-id"],
)
async def test_sendgrids_trouble_is_a_fault(respx_mock, sendgrid, call, response, outcome):
    respx_mock.post(MAIL_SEND).mock(return_value=response)

    with pytest.raises(ProviderFault) as raised:
        await call(sendgrid, "send", MESSAGE)

    assert raised.value.outcome == outcome


async def test_it_sends_without_the_webhook_key_but_not_without_the_api_key(
    respx_mock, adapter, call
):
    # given one provider row with only the api key, one with only the webhook key
    respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    sending = adapter(SendGrid, api_key="SG.key")
    webhook_only = adapter(SendGrid, webhook_public_key="MFkw...")

    # when / then
    assert (await call(sending, "send", MESSAGE))["accepted"] is True
    with pytest.raises(ProviderFault) as raised:
        await call(webhook_only, "send", MESSAGE)
    assert raised.value.outcome == OUTCOME_MISCONFIGURED
    assert raised.value.sent is False
    assert len(respx_mock.calls) == 1


@pytest.mark.parametrize(
    ("sg_message_id", "x_message_id"),
    [
        ("14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0", "14c5d75ce93.dfd.64b469"),
        ("HsJwG8EbRTaCRpyC0PDHKQ.recvd-5b6ccf6b9c-jw8hb-1-62BC9C6B-10.0", "HsJwG8EbRTaCRpyC0PDHKQ"),
        ("HsJwG8EbRTaCRpyC0PDHKQ", "HsJwG8EbRTaCRpyC0PDHKQ"),
    ],
)
def test_an_events_message_id_is_traced_back_to_the_x_message_id(sg_message_id, x_message_id):
    assert message_id_of(sg_message_id) == x_message_id
