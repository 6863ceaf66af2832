"""The Mailgun adapter against Mailgun's documented Messages API answers (respx)."""

import base64
from urllib.parse import parse_qs

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.email.providers.mailgun import Mailgun
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import MAILGUN_QUEUED

MESSAGES = "https://api.mailgun.net/v3/mg.example.com/messages"


@pytest.fixture
def mailgun(adapter):
    return adapter(Mailgun, api_key="key-123", domain="mg.example.com")


async def test_the_message_is_form_posted_with_basic_auth(respx_mock, mailgun, call):
    # given
    route = respx_mock.post(MESSAGES).respond(200, json=MAILGUN_QUEUED)
    message = {
        **MESSAGE,
        "cc": [{"email": "cc@example.org"}],
        "reply_to": {"email": "help@shop.example", "name": "Help"},
        "body_html": "<b>Thanks</b>",
    }

    # when
    answer = await call(mailgun, "send", message)

    # then
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"api:key-123").decode()
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode()) == {
        "from": ["Shop Billing <billing@shop.example>"],
        "to": ["Ann Lee <ann@example.org>, bob@example.org"],
        "cc": ["cc@example.org"],
        "h:Reply-To": ["Help <help@shop.example>"],
        "subject": ["Your invoice"],
        "text": ["Thank you for your order."],
        "html": ["<b>Thanks</b>"],
    }
    # the id as its events quote it, without the angle brackets
    assert answer == {"accepted": True, "message_id": "20261129072501.1.4A2D@mg.example.com"}


async def test_attachments_go_as_multipart_files(respx_mock, mailgun, call):
    # given
    route = respx_mock.post(MESSAGES).respond(200, json=MAILGUN_QUEUED)
    content = base64.b64encode(b"%PDF-1.7 invoice").decode()
    attachment = {"name": "invoice.pdf", "content_type": "application/pdf", "content": content}

    # when
    await call(mailgun, "send", {**MESSAGE, "attachments": [attachment]})

    # then
    sent = route.calls.last.request
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = sent.content
    assert b'Content-Disposition: form-data; name="attachment"; filename="invoice.pdf"' in body
    assert b"Content-Type: application/pdf\r\n\r\n%PDF-1.7 invoice" in body
    assert b'name="subject"\r\n\r\nYour invoice' in body


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("'to' parameter is not a valid address. please check documentation", "to"),
        ("from parameter is missing", "from_email"),
        ("Need at least one of 'text', 'html' or 'template' parameters specified", "text"),
    ],
)
async def test_a_400_names_the_parameter_mailgun_refused(respx_mock, mailgun, call, message, field):
    respx_mock.post(MESSAGES).respond(400, json={"message": message})

    with pytest.raises(InvalidInput) as raised:
        await call(mailgun, "send", MESSAGE)

    expected = {"to": "to", "from_email": "from_email", "text": "non_field_errors"}[field]
    assert raised.value.errors == {expected: [message]}


@pytest.mark.parametrize(
    ("status", "answer", "outcome"),
    [
        (401, {"text": "Forbidden"}, OUTCOME_AUTH),
        (403, {"json": {"message": "Domain mg.example.com is not allowed to send"}}, OUTCOME_AUTH),
        (404, {"json": {"message": "Domain not found: mg.example.com"}}, OUTCOME_MISCONFIGURED),
        (502, {"text": "Bad Gateway"}, OUTCOME_HTTP_ERROR),
    ],
)
async def test_account_and_service_trouble_is_a_fault(
    respx_mock, mailgun, call, status, answer, outcome
):
    respx_mock.post(MESSAGES).respond(status, **answer)

    with pytest.raises(ProviderFault) as raised:
        await call(mailgun, "send", MESSAGE)

    assert raised.value.outcome == outcome
    assert "key-123" not in raised.value.detail


async def test_without_a_domain_nothing_is_sent(respx_mock, adapter, call):
    with pytest.raises(ProviderFault) as raised:
        await call(adapter(Mailgun, api_key="key-123"), "send", MESSAGE)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_MISCONFIGURED, False)
    assert not respx_mock.calls
