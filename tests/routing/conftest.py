"""Routing fixtures: a small catalog, a controllable clock, and real misbehaving sockets."""

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import redis.asyncio
import respx
from redis.asyncio.client import Pipeline

from apps.catalog.models import Offering, Provider
from apps.core import state
from apps.routing import breakers
from tests.integrations.currency.vendor_answers import OXR_LATEST
from tests.support.routing import FIXER_URL, OXR_URL, configure
from tests.support.servers import HangingServer


@pytest.fixture(autouse=True)
def fresh_routing_state() -> Iterator[None]:
    breakers.forget_process_state()
    state.forget_redis_failure()
    yield
    breakers.forget_process_state()
    state.forget_redis_failure()


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The breakers' clock, moved by the test instead of by sleeping."""
    fake = FakeClock()
    monkeypatch.setattr(breakers, "clock", fake)
    return fake


@pytest.fixture
def refused_url(egress_private: None) -> str:
    """A local port with nothing listening: the connection is refused (by the port, not by
    the egress policy, which loopback fakes turn off)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api"


@pytest.fixture
def hanging_url(egress_private: None) -> Iterator[str]:
    """A local server that accepts connections and never answers."""
    with HangingServer() as server:
        yield f"http://127.0.0.1:{server.port}/api"


@pytest.fixture
def two_providers(db: None) -> None:
    Provider.objects.exclude(slug__in=["fixer", "openexchangerates"]).update(enabled=False)
    configure(
        "fixer",
        base_url=FIXER_URL,
        credentials={"access_key": "fx"},
        breaker_failures=3,
        breaker_cooldown_s=30,
    )
    configure("openexchangerates", base_url=OXR_URL, credentials={"app_id": "oxr"})
    Offering.objects.filter(provider__slug="fixer").update(priority=1, cost=Decimal("0.0010"))
    Offering.objects.filter(provider__slug="openexchangerates").update(
        priority=2, cost=Decimal("0.0030")
    )


@pytest.fixture
def vendors() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.get(f"{OXR_URL}/latest.json").respond(json=OXR_LATEST)
        yield router


@pytest.fixture
def redis_round_trips(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """Every round trip the async Redis client makes, as the names of the commands it sent:
    one command, or a pipeline of them (EVALSHA counts as one command)."""
    trips: list[tuple[str, ...]] = []
    command, execute = redis.asyncio.Redis.execute_command, Pipeline.execute

    async def one(self, *args, **options):  # type: ignore[no-untyped-def]
        trips.append((str(args[0]).upper(),))
        return await command(self, *args, **options)

    async def pipelined(self, *args, **options):  # type: ignore[no-untyped-def]
        trips.append(tuple(str(sent[0]).upper() for sent, _ in self.command_stack))
        return await execute(self, *args, **options)

    monkeypatch.setattr(redis.asyncio.Redis, "execute_command", one)
    monkeypatch.setattr(Pipeline, "execute", pipelined)
    return trips
