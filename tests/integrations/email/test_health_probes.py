"""Each email adapter's health probe: a cheap request that proves the vendor answers and
accepts our credentials, in the vendor's documented formats."""

import pytest

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_CONNECTION,
    ProviderConfig,
    ProviderFault,
)
from apps.integrations.email.providers.console import ConsoleEmail
from apps.integrations.email.providers.mailgun import Mailgun
from apps.integrations.email.providers.postmark import Postmark
from apps.integrations.email.providers.sendgrid import SendGrid
from apps.integrations.email.providers.smtp import Smtp
from tests.support.servers import free_port

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = pytest.mark.usefixtures("egress_private")

SCOPES = "https://api.sendgrid.com/v3/scopes"
SERVER = "https://api.postmarkapp.com/server"


async def test_sendgrid_probe_checks_the_key_may_send(respx_mock, adapter):
    # given
    route = respx_mock.get(SCOPES).respond(200, json={"scopes": ["alerts.read", "mail.send"]})

    # when
    await adapter(SendGrid, api_key="SG.k").probe()

    # then
    assert route.calls.last.request.headers["Authorization"] == "Bearer SG.k"


@pytest.mark.parametrize(
    "answer",
    [
        {"status_code": 200, "json": {"scopes": ["alerts.read"]}},
        {
            "status_code": 401,
            "json": {"errors": [{"field": None, "message": "authorization required"}]},
        },
    ],
    ids=["no-mail-send-scope", "401"],
)
async def test_sendgrid_probe_fails_when_the_key_cannot_send(respx_mock, adapter, answer):
    respx_mock.get(SCOPES).respond(**answer)

    with pytest.raises(ProviderFault) as raised:
        await adapter(SendGrid, api_key="SG.k").probe()

    assert raised.value.outcome == OUTCOME_AUTH


async def test_postmark_probe_reads_the_server(respx_mock, adapter):
    route = respx_mock.get(SERVER).respond(
        200, json={"ID": 1, "Name": "Production", "Color": "red", "SmtpApiActivated": True}
    )

    await adapter(Postmark, server_token="pm").probe()

    assert route.calls.last.request.headers["X-Postmark-Server-Token"] == "pm"


async def test_postmark_probe_fails_on_a_refused_token(respx_mock, adapter):
    respx_mock.get(SERVER).respond(401, json={"ErrorCode": 10, "Message": "Bad or missing token"})

    with pytest.raises(ProviderFault) as raised:
        await adapter(Postmark, server_token="pm").probe()

    assert raised.value.outcome == OUTCOME_AUTH


def test_mailgun_and_the_console_have_no_probe():
    # a domain sending key may only send: any probe would call a healthy Mailgun failing
    assert not Mailgun.has_health_probe()
    assert not ConsoleEmail.has_health_probe()


def smtp_adapter(http, base_url: str) -> Smtp:
    return Smtp(ProviderConfig("smtp", Smtp.key, base_url, 2000, {}), http)


async def test_smtp_probe_says_hello_to_the_server(http, inbox, smtpd):
    await smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}").probe()

    assert not inbox.received


async def test_smtp_probe_fails_when_nothing_listens(http):
    with pytest.raises(ProviderFault) as raised:
        await smtp_adapter(http, f"smtp://127.0.0.1:{free_port()}").probe()

    assert raised.value.outcome == OUTCOME_CONNECTION
