"""What the email, sms and webhook tests share: a paying client, providers set up as ops
would, real local sockets for refused and hanging connections, a real SMTP server."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from apps.catalog.models import Offering, Provider
from apps.catalog.services import catalog_cache_invalidate
from tests import factories
from tests.servers import HangingServer

__all__ = ["HangingServer"]  # the sms and email tests take it from here

# aiosmtpd logs every command from its own thread, also after a test's output is closed.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Caller:
    client: Any
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.key}"}


def paying_client(*prices: tuple[str, str]) -> Caller:
    plan = factories.PlanFactory(slug="messaging")
    for method_key, price in prices:
        factories.PriceFactory(plan=plan, method=factories.method(method_key), price=Decimal(price))
    client = factories.ClientFactory(slug="acme", plan=plan, country="DE")
    return Caller(client, factories.api_key_for(client))


def only_providers(*slugs: str) -> None:
    Provider.objects.exclude(slug__in=slugs).update(enabled=False)
    catalog_cache_invalidate()


def configure(
    slug: str,
    *,
    base_url: str,
    credentials: dict[str, str],
    priority: int = 1,
    cost: str = "0.0010",
    timeout_ms: int = 1000,
) -> Provider:
    provider = Provider.objects.get(slug=slug)
    provider.base_url, provider.credentials = base_url, credentials
    provider.enabled, provider.timeout_ms = True, timeout_ms
    provider.save()
    Offering.objects.filter(provider=provider).update(priority=priority, cost=Decimal(cost))
    catalog_cache_invalidate()
    return provider


def post(api: Any, url: str, body: Any, caller: Caller) -> Any:
    return api.post(url, json.dumps(body), content_type="application/json", headers=caller.headers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refused_url(scheme: str = "http") -> str:
    """A local port with nothing listening: the connection is refused."""
    return f"{scheme}://127.0.0.1:{free_port()}"


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
