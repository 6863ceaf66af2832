"""The SMTP adapter against a real SMTP server on this machine (aiosmtpd)."""

import base64
import datetime
import email
import ipaddress
import ssl
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from apps.catalog.providers import (
    OUTCOME_AUTH,
    OUTCOME_CONNECTION,
    OUTCOME_HTTP_ERROR,
    OUTCOME_MISCONFIGURED,
    InvalidInput,
    ProviderConfig,
    ProviderFault,
)
from apps.integrations.email.providers.smtp import Smtp
from tests.integrations.email.conftest import MESSAGE
from tests.support.servers import free_port
from tests.support.smtp import Inbox, smtp_server

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = pytest.mark.usefixtures("egress_private")

PDF = b"%PDF-1.7 invoice"


def smtp_adapter(http, base_url: str, **credentials: str) -> Smtp:
    config = ProviderConfig(
        slug="smtp", adapter=Smtp.key, base_url=base_url, timeout_ms=2000, credentials=credentials
    )
    return Smtp(config, http)


def delivered(inbox: Inbox) -> EmailMessage:
    (envelope,) = inbox.received
    return email.message_from_bytes(envelope.original_content, policy=default_policy)


@pytest.fixture
def tls_files(tmp_path, monkeypatch):
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE as an
    operator would trust a private CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "smtp.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert_path))
    return cert_path, key_path


def server_context(tls_files) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


def accept_only(username: str, password: str):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            username.encode(),
            password.encode(),
        )
        return AuthResult(success=ok, handled=False)

    return authenticator


async def test_the_server_receives_the_whole_message(http, call, inbox, smtpd):
    # given a plain SMTP server that offers no STARTTLS
    smtp = smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}")
    message = {
        **MESSAGE,
        "cc": [{"email": "cc@example.org", "name": "Cee"}],
        "bcc": [{"email": "audit@shop.example"}],
        "reply_to": {"email": "help@shop.example"},
        "body_html": "<style>b {color: red}</style><b>Thank you</b>",
        "transform_css": True,
        "attachments": [
            {
                "name": "invoice.pdf",
                "content_type": "application/pdf",
                "content": base64.b64encode(PDF).decode(),
            }
        ],
    }

    # when
    answer = await call(smtp, "send", message)

    # then the envelope has every recipient, bcc included
    (envelope,) = inbox.received
    assert envelope.mail_from == "billing@shop.example"
    assert envelope.rcpt_tos == [
        "ann@example.org",
        "bob@example.org",
        "cc@example.org",
        "audit@shop.example",
    ]
    # and the message its headers, both bodies and the attachment, but no Bcc header
    mail = delivered(inbox)
    assert mail["From"] == "Shop Billing <billing@shop.example>"
    assert mail["To"] == "Ann Lee <ann@example.org>, bob@example.org"
    assert mail["Cc"] == "Cee <cc@example.org>"
    assert mail["Reply-To"] == "help@shop.example"
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Your invoice"
    assert mail["Message-ID"] == f"<{answer['message_id']}>"
    assert answer["message_id"].endswith("@shop.example")
    assert mail.get_body(("plain",)).get_content() == "Thank you for your order."
    assert '<b style="color:red">Thank you</b>' in mail.get_body(("html",)).get_content()
    (pdf,) = list(mail.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content_type()) == ("invoice.pdf", "application/pdf")
    assert pdf.get_content() == PDF


async def test_starttls_when_offered_then_login(http, call, inbox, tls_files):
    # given a server that offers STARTTLS and requires AUTH over it
    server = smtp_server(
        inbox,
        tls_context=server_context(tls_files),
        auth_required=True,
        auth_require_tls=True,
        authenticator=accept_only("mailer", "s3cret"),
    )
    controller = next(server)
    try:
        smtp = smtp_adapter(
            http, f"smtp://127.0.0.1:{controller.port}", username="mailer", password="s3cret"
        )

        # when
        answer = await call(smtp, "send", MESSAGE)
    finally:
        next(server, None)

    # then
    assert answer["accepted"] is True
    assert delivered(inbox)["Subject"] == "Your invoice"


async def test_a_wrong_password_is_an_auth_fault_before_sending(http, call, inbox, tls_files):
    server = smtp_server(
        inbox,
        tls_context=server_context(tls_files),
        auth_required=True,
        auth_require_tls=True,
        authenticator=accept_only("mailer", "s3cret"),
    )
    controller = next(server)
    try:
        smtp = smtp_adapter(
            http, f"smtp://127.0.0.1:{controller.port}", username="mailer", password="wrong"
        )
        with pytest.raises(ProviderFault) as raised:
            await call(smtp, "send", MESSAGE)
    finally:
        next(server, None)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_AUTH, False)
    assert not inbox.received


async def test_smtps_speaks_tls_from_the_first_byte(http, call, inbox, tls_files):
    server = smtp_server(inbox, ssl_context=server_context(tls_files))
    controller = next(server)
    try:
        answer = await call(
            smtp_adapter(http, f"smtps://127.0.0.1:{controller.port}"), "send", MESSAGE
        )
    finally:
        next(server, None)

    assert answer["accepted"] is True
    assert len(inbox.received) == 1


async def test_a_password_is_never_sent_in_clear(http, call, inbox, smtpd):
    # given a server without STARTTLS, and credentials to log in with
    smtp = smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}", username="u", password="p")

    # when
    with pytest.raises(ProviderFault) as raised:
        await call(smtp, "send", MESSAGE)

    # then
    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_MISCONFIGURED, False)
    assert not inbox.received


async def test_starttls_required_but_not_offered_sends_nothing(http, call, inbox, smtpd):
    smtp = smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}?starttls=required")

    with pytest.raises(ProviderFault) as raised:
        await call(smtp, "send", MESSAGE)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_MISCONFIGURED, False)
    assert not inbox.received


async def test_every_recipient_refused_for_good_is_the_clients_input(http, call, inbox, smtpd):
    # given the server has no such mailboxes
    inbox.refuse = {
        "ann@example.org": "550 5.1.1 <ann@example.org>: user unknown",
        "bob@example.org": "550 5.1.1 <bob@example.org>: user unknown",
    }

    # when
    with pytest.raises(InvalidInput) as raised:
        await call(smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}"), "send", MESSAGE)

    # then
    assert raised.value.errors == {
        "to": [
            "ann@example.org: 550 5.1.1 <ann@example.org>: user unknown",
            "bob@example.org: 550 5.1.1 <bob@example.org>: user unknown",
        ]
    }


async def test_a_temporary_refusal_is_a_fault(http, call, inbox, smtpd):
    inbox.refuse = {
        "ann@example.org": "451 4.3.0 try again later",
        "bob@example.org": "451 4.3.0 try again later",
    }

    with pytest.raises(ProviderFault) as raised:
        await call(smtp_adapter(http, f"smtp://127.0.0.1:{smtpd.port}"), "send", MESSAGE)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_HTTP_ERROR, False)


async def test_a_refused_connection_is_a_fault_before_sending(http, call):
    smtp = smtp_adapter(http, f"smtp://127.0.0.1:{free_port()}")

    with pytest.raises(ProviderFault) as raised:
        await call(smtp, "send", MESSAGE)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_CONNECTION, False)


@pytest.mark.parametrize("base_url", ["https://mail.example.com", "smtp://", "mail.example.com:25"])
async def test_a_base_url_that_is_not_smtp_is_misconfigured(http, call, base_url):
    with pytest.raises(ProviderFault) as raised:
        await call(smtp_adapter(http, base_url), "send", MESSAGE)

    assert (raised.value.outcome, raised.value.sent) == (OUTCOME_MISCONFIGURED, False)
