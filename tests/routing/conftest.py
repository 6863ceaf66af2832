"""Routing fixtures: a small catalog, a controllable clock, and real misbehaving sockets."""

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import respx

from apps.catalog.models import Offering, Provider, RoutingPolicy
from apps.catalog.providers import ProviderConfig
from apps.catalog.registry import registry
from apps.core import state
from apps.routing import breakers
from apps.routing.routes import BreakerPolicy, OfferingRoute
from tests import factories
from tests.integrations.currency.vendor_answers import OXR_LATEST
from tests.support.servers import HangingServer

FIXER_URL = "https://fixer.test/api"
OXR_URL = "https://oxr.test/api"
LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"


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


def sandbox_catalog(costs: dict[str, dict[str, str]], **provider_fields) -> dict[str, Provider]:
    """Offline providers (the sandbox adapter under other slugs), the only ones enabled.

    `costs` maps slug -> {method key or "priority"/"weight": value}, e.g.
    {"alpha": {"currency.latest_rates": "0.0010", "priority": 1}}.
    """
    Provider.objects.update(enabled=False)
    providers = {}
    for slug, spec in costs.items():
        provider = factories.ProviderFactory(slug=slug, **provider_fields)
        providers[slug] = provider
        for key in ("currency.latest_rates", "currency.convert"):
            factories.OfferingFactory(
                provider=provider,
                method=factories.method(key),
                priority=spec.get("priority", 10),
                weight=spec.get("weight", 1),
                cost=Decimal(spec.get(key, "0.0010")),
            )
    return providers


def set_policy(method: str, **fields) -> None:
    policy = RoutingPolicy.objects.get(method__slug=method)
    for name, value in fields.items():
        setattr(policy, name, value)
    policy.save()


def offering_of(provider: str, method: str = "latest_rates") -> Offering:
    return Offering.objects.get(provider__slug=provider, method__slug=method)


def post(api, caller, path: str = LATEST, payload: dict | None = None, headers=None):
    return api.post(
        path,
        json.dumps(payload if payload is not None else {"base": "USD"}),
        content_type="application/json",
        headers={**caller.headers, **(headers or {})},
    )


def route_of(
    slug: str,
    *,
    offering_id: int,
    priority: int = 10,
    weight: int = 1,
    cost: str = "0.0010",
    country_costs: dict[str, str] | None = None,
    adapter: str = "currency.sandbox",
    base_url: str = "sandbox://rates",
    timeout_ms: int = 1000,
    credentials: dict[str, str] | None = None,
    breaker: BreakerPolicy | None = None,
) -> OfferingRoute:
    """An offering as routing sees it, without the database."""
    return OfferingRoute(
        offering_id=offering_id,
        provider=ProviderConfig(slug, adapter, base_url, timeout_ms, credentials or {}),
        adapter=registry.adapters[adapter],
        priority=priority,
        weight=weight,
        cost=Decimal(cost),
        country_costs={k: Decimal(v) for k, v in (country_costs or {}).items()},
        breaker=breaker or BreakerPolicy(),
    )


def configure(slug: str, **fields) -> Provider:
    provider = Provider.objects.get(slug=slug)
    for name, value in fields.items():
        setattr(provider, name, value)
    provider.enabled = True
    provider.save()
    return provider


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
