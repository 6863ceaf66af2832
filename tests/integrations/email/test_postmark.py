"""The Postmark adapter against Postmark's documented Email API answers (respx)."""

import base64
import json

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    OUTCOME_QUOTA,
    InvalidInput,
    ProviderFault,
)
from apps.integrations.email.providers.postmark import Postmark
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import POSTMARK_OK, postmark_error

EMAIL = "https://api.postmarkapp.com/email"


@pytest.fixture
def postmark(adapter):
    return adapter(Postmark, server_token="pm-token")


async def test_the_message_goes_to_email_with_the_server_token(respx_mock, postmark, call):
    # given
    route = respx_mock.post(EMAIL).respond(200, json=POSTMARK_OK)
    csv = base64.b64encode(b"a,b\n1,2\n").decode()
    message = {
        **MESSAGE,
        "from_email": {"email": "billing@shop.example", "name": "Shop, Billing"},
        "cc": [{"email": "cc@example.org", "name": "Cee"}],
        "bcc": [{"email": "audit@shop.example"}],
        "reply_to": {"email": "help@shop.example"},
        "body_html": "<p>Thanks</p>",
        "attachments": [{"name": "lines.csv", "content_type": "text/csv", "content": csv}],
    }

    # when
    answer = await call(postmark, "send", message)

    # then
    sent = route.calls.last.request
    assert sent.headers["X-Postmark-Server-Token"] == "pm-token"
    assert sent.headers["Accept"] == "application/json"
    assert json.loads(sent.content) == {
        "From": '"Shop, Billing" <billing@shop.example>',
        "To": "Ann Lee <ann@example.org>, bob@example.org",
        "Cc": "Cee <cc@example.org>",
        "Bcc": "audit@shop.example",
        "ReplyTo": "help@shop.example",
        "Subject": "Your invoice",
        "TextBody": "Thank you for your order.",
        "HtmlBody": "<p>Thanks</p>",
        "MessageStream": "outbound",
        "Attachments": [{"Name": "lines.csv", "Content": csv, "ContentType": "text/csv"}],
    }
    assert answer == {"accepted": True, "message_id": "0a129aee-e1cd-480d-b08d-4f48548ff48d"}


@pytest.mark.parametrize(
    ("code", "message", "field"),
    [
        (300, "Invalid 'To' address: 'ann@'.", "non_field_errors"),
        (406, "You tried to send to a recipient that has been marked as inactive.", "to"),
        (411, "Forbidden attachment type.", "attachments"),
    ],
)
async def test_documented_input_errors_are_the_clients(
    respx_mock, postmark, call, code, message, field
):
    # given Postmark's 422 with an ErrorCode
    respx_mock.post(EMAIL).respond(422, json=postmark_error(code, message))

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(postmark, "send", MESSAGE)

    # then
    assert raised.value.errors == {field: [message]}


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (401, 10, OUTCOME_AUTH),  # no or wrong server token
        (422, 400, OUTCOME_MISCONFIGURED),  # sender signature not found
        (422, 401, OUTCOME_MISCONFIGURED),  # sender signature not confirmed
        (422, 405, OUTCOME_QUOTA),  # out of credits
        (422, 413, OUTCOME_AUTH),  # account may not send
        (500, 0, OUTCOME_HTTP_ERROR),
    ],
)
async def test_account_trouble_is_a_fault(respx_mock, postmark, call, status, code, outcome):
    respx_mock.post(EMAIL).respond(status, json=postmark_error(code, "Postmark says no."))

    with pytest.raises(ProviderFault) as raised:
        await call(postmark, "send", MESSAGE)

    assert raised.value.outcome == outcome


async def test_a_message_over_postmarks_10_mb_is_left_to_the_others(respx_mock, postmark, call):
    # given 11 MB of attachments: our limit takes it, Postmark's does not
    big = base64.b64encode(b"x" * 5_500_000).decode()
    attachments = [
        {"name": f"part{i}.bin", "content_type": "application/octet-stream", "content": big}
        for i in range(2)
    ]

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(postmark, "send", {**MESSAGE, "attachments": attachments})

    # then nothing was sent, so failover is safe
    assert raised.value.sent is False
    assert not respx_mock.calls
