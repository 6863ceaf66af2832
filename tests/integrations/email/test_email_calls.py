"""email.send end to end: the endpoint, routing, failover, the ledger and the sent message.

Vendors are faked at the HTTP level in their documented formats; refused and hanging
connections are real sockets; the SMTP server is a real one on this machine.
"""

import base64
from decimal import Decimal

import pytest
import respx

from apps.ledger.models import LedgerEntry
from apps.messaging.models import SentMessage
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import (
    POSTMARK_OK,
    SENDGRID_ACCEPTED_HEADERS,
    sendgrid_errors,
)
from tests.support.calls import configure, only_providers, post
from tests.support.servers import HangingServer, refused_url

SEND = "/api/v1/services/email/send/"
SENDGRID_URL = "https://sendgrid.test"
POSTMARK_URL = "https://postmark.test"

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("egress_private")]


@pytest.fixture
def sendgrid_then_postmark(db):
    only_providers("sendgrid", "postmark")
    configure("sendgrid", base_url=SENDGRID_URL, credentials={"api_key": "SG.k"}, priority=1)
    configure(
        "postmark",
        base_url=POSTMARK_URL,
        credentials={"server_token": "pm"},
        priority=2,
        cost="0.0015",
    )


@pytest.fixture
def vendors():
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.post(f"{POSTMARK_URL}/email").respond(200, json=POSTMARK_OK)
        yield router


def postmark_called(vendors) -> bool:
    return vendors.routes[1].called


def test_sendgrid_sends_and_the_message_is_linked_to_the_ledger_row(
    api, mailer, sendgrid_then_postmark, vendors
):
    # given
    vendors.post(f"{SENDGRID_URL}/v3/mail/send").respond(202, headers=SENDGRID_ACCEPTED_HEADERS)

    # when
    response = post(api, SEND, MESSAGE, mailer)

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {"accepted": True, "message_id": "HsJwG8EbRTaCRpyC0PDHKQ"}
    assert (response["X-Provider"], response["X-Price"]) == ("sendgrid", "0.0100")
    entry = LedgerEntry.objects.get()
    assert (entry.service, entry.method, entry.provider) == ("email", "send", "sendgrid")
    assert (entry.cost, entry.price) == (Decimal("0.0010"), Decimal("0.0100"))
    message = SentMessage.objects.get()
    assert (message.ledger_entry, message.provider, message.message_id, message.status) == (
        entry,
        "sendgrid",
        "HsJwG8EbRTaCRpyC0PDHKQ",
        "accepted",
    )
    assert not postmark_called(vendors)


def test_a_refused_connection_fails_over_to_postmark(api, mailer, sendgrid_then_postmark, vendors):
    # given nothing listens where sendgrid should be
    configure("sendgrid", base_url=refused_url(), credentials={"api_key": "SG.k"}, priority=1)

    # when
    response = post(api, SEND, MESSAGE, mailer)

    # then postmark sent it: the first attempt never reached anyone
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "postmark"
    entry = LedgerEntry.objects.get()
    assert [(a["provider"], a["outcome"]) for a in entry.attempts] == [
        ("sendgrid", "connection_error"),
        ("postmark", "ok"),
    ]
    assert (entry.provider, entry.cost) == ("postmark", Decimal("0.0015"))
    assert SentMessage.objects.get().message_id == POSTMARK_OK["MessageID"]


def test_no_failover_after_a_timeout_the_message_may_have_been_sent(
    api, mailer, sendgrid_then_postmark, vendors
):
    with HangingServer() as hanging:
        # given sendgrid accepts the connection and the request, and never answers
        configure(
            "sendgrid",
            base_url=f"http://127.0.0.1:{hanging.port}",
            credentials={"api_key": "SG.k"},
            priority=1,
            timeout_ms=300,
        )

        # when
        response = post(api, SEND, MESSAGE, mailer)

    # then postmark is not asked: a second copy could reach the recipients
    assert response.status_code == 502
    assert [(a["provider"], a["outcome"]) for a in response.json()["attempts"]] == [
        ("sendgrid", "timeout")
    ]
    assert not postmark_called(vendors)
    entry = LedgerEntry.objects.get()
    # the row says ops may need to check with sendgrid, and nothing was charged
    assert (entry.status, entry.price) == ("unknown", Decimal("0"))
    assert entry.routing["stopped"] == "outcome unknown on a non-idempotent method"
    assert not SentMessage.objects.exists()


def test_a_server_error_fails_over(api, mailer, sendgrid_then_postmark, vendors):
    vendors.post(f"{SENDGRID_URL}/v3/mail/send").respond(
        503, json=sendgrid_errors((None, "Service Unavailable"))
    )

    response = post(api, SEND, MESSAGE, mailer)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "postmark"


def test_an_unverified_sender_at_sendgrid_fails_over(api, mailer, sendgrid_then_postmark, vendors):
    vendors.post(f"{SENDGRID_URL}/v3/mail/send").respond(
        403,
        json=sendgrid_errors((None, "The from address does not match a verified Sender Identity.")),
    )

    response = post(api, SEND, MESSAGE, mailer)

    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "postmark"


def test_an_invalid_message_is_422_without_failover(api, mailer, sendgrid_then_postmark, vendors):
    # given SendGrid says the sender address is not valid
    vendors.post(f"{SENDGRID_URL}/v3/mail/send").respond(
        400,
        json=sendgrid_errors(("from.email", "The from email does not contain a valid address.")),
    )

    # when
    response = post(api, SEND, MESSAGE, mailer)

    # then
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"] == {"from_email": ["The from email does not contain a valid address."]}
    assert not postmark_called(vendors)
    mailer.client.refresh_from_db()
    assert mailer.client.balance == Decimal("0")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": [{"email": "not-an-address"}]}, "to.0.email"),
        ({"to": []}, "to.non_field_errors"),
        ({"from_email": {"email": "a@shop.example", "nmae": "Typo"}}, "from_email.nmae"),
        ({"subject": "Hi\r\nBcc: victim@example.org"}, "subject"),
        ({"cc": [{"email": "ann@example.org"}]}, "to"),  # already in to
        ({"transform_css": True}, "transform_css"),  # but no body_html
        (
            {
                "attachments": [
                    {"name": "a.pdf", "content_type": "application/pdf", "content": "%%"}
                ]
            },
            "attachments.0.content",
        ),
        (
            {
                "attachments": [
                    {"name": "../a.pdf", "content_type": "application/pdf", "content": ""}
                ]
            },
            "attachments.0.name",
        ),
    ],
)
def test_bad_input_is_400_naming_the_field(api, mailer, sendgrid_then_postmark, change, field):
    response = post(api, SEND, {**MESSAGE, **change}, mailer)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not LedgerEntry.objects.filter(status="succeeded").exists()


def test_attachments_are_capped_after_decoding(api, mailer, sendgrid_then_postmark, settings):
    # given the body limit raised far enough for 26 MiB of files
    settings.GATEWAY_MAX_BODY_BYTES = 40 * 1024 * 1024
    chunk = base64.b64encode(b"\0" * (9 * 1024 * 1024)).decode()
    files = [
        {"name": f"f{i}.bin", "content_type": "application/octet-stream", "content": chunk}
        for i in range(3)
    ]

    # when
    response = post(api, SEND, {**MESSAGE, "attachments": files}, mailer)

    # then
    assert response.status_code == 400
    assert "attachments" in response.json()["errors"]


def test_smtp_delivers_through_the_endpoint(api, mailer, inbox, smtpd):
    # given only the SMTP provider, pointed at a real server on this machine
    only_providers("smtp")
    configure("smtp", base_url=f"smtp://127.0.0.1:{smtpd.port}", credentials={}, priority=1)

    # when
    response = post(api, SEND, MESSAGE, mailer)

    # then
    assert response.status_code == 200, response.content
    (envelope,) = inbox.received
    assert envelope.rcpt_tos == ["ann@example.org", "bob@example.org"]
    assert SentMessage.objects.get().message_id == response.json()["data"]["message_id"]


def test_the_console_provider_prints_the_message(api, mailer, capsys):
    only_providers("email-console")
    configure("email-console", base_url="console://stdout", credentials={}, cost="0.0000")

    response = post(api, SEND, {**MESSAGE, "body_html": "<p>Thanks</p>"}, mailer)

    assert response.status_code == 200, response.content
    printed = capsys.readouterr().out
    assert "Subject: Your invoice" in printed
    assert "To: Ann Lee <ann@example.org>, bob@example.org" in printed
    assert "Thank you for your order." in printed
    assert f"Message-ID: <{response.json()['data']['message_id']}>" in printed


def test_the_meta_schema_describes_email_send(api, mailer):
    response = api.get("/api/v1/services/", headers=mailer.headers)

    email = {s["slug"]: s for s in response.json()}["email"]
    (send,) = email["methods"]
    assert send["idempotent"] is False
    assert set(send["request_schema"]["required"]) == {
        "from_email",
        "to",
        "subject",
        "body_plain_text",
    }
    assert set(send["response_schema"]["properties"]) == {"accepted", "message_id"}


def test_at_most_50_recipients(api, mailer, sendgrid_then_postmark):
    people = [{"email": f"r{i}@example.org"} for i in range(51)]

    response = post(api, SEND, {**MESSAGE, "to": people[:40], "bcc": people[40:]}, mailer)

    assert response.status_code == 400
    assert response.json()["errors"]["to"] == ["At most 50 recipients in to, cc and bcc together."]
