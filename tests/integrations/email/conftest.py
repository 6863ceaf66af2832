"""Email adapters called as the executor calls them; a paying client for endpoint tests."""

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.support.calls import Caller, paying_client
from tests.support.smtp import Inbox, smtp_server


@pytest.fixture
def mailer(db: None) -> Caller:
    """A client whose plan prices email.send at 0.0100."""
    return paying_client(("email.send", "0.0100"))


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtpd(inbox: Inbox) -> Iterator[Controller]:
    """A real SMTP server on a local port (no STARTTLS, no AUTH)."""
    yield from smtp_server(inbox)


MESSAGE = {
    "from_email": {"email": "billing@shop.example", "name": "Shop Billing"},
    "to": [{"email": "ann@example.org", "name": "Ann Lee"}, {"email": "bob@example.org"}],
    "subject": "Your invoice",
    "body_plain_text": "Thank you for your order.",
}
