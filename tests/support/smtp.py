"""A real SMTP server (aiosmtpd) on loopback, keeping what it receives."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from tests.support.servers import free_port

# aiosmtpd logs every command from its own thread, also after a test's output is closed.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives and refuses chosen recipients."""

    received: list[Envelope] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply

    async def handle_RCPT(
        self, server: Any, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def smtp_server(inbox: Inbox, **smtp_parameters: Any) -> Iterator[Controller]:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_parameters)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
