"""The code registry: services declare methods, provider adapters implement some of them.

Code says what exists (a service, its methods and their schemas, the adapters that can serve
them); the ORM rows synced from here say how it is configured (enabled, priority, cost).

    @registry.service
    class CurrencyService(ServiceDefinition):
        slug = "currency"
        name = "Currency exchange rates"
        latest_rates = MethodSpec(request=LatestRatesIn, response=LatestRatesOut, ...)

    @registry.provider
    class Fixer(ProviderAdapter):
        key = "currency.fixer"  # serves "currency"; its Provider row's slug is "fixer"

        @provides("latest_rates")
        async def latest_rates(self, payload, context): ...

A built-in service is a package (apps/integrations/<service>/) whose AppConfig.ready() calls
`registry.discover(self.name)`: that imports its `service` module and every module in its
`providers` folder, so a new vendor is one module there (and its tests), listed nowhere else.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from rest_framework import serializers

if TYPE_CHECKING:
    from apps.catalog.providers import ProviderAdapter


JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class Preparation:
    """What a method's `prepare` hook decided about one call, before it is routed.

    pinned_provider  only this provider (slug) may serve the call; down means 503, never
                     another (a domain is managed at the registrar that holds it)
    route_country    route among the providers that serve this country (a sale is taxed
                     by a provider of its ship-to country), whatever the requester's is
    payload          what the adapter gets instead of the validated payload (e.g. with
                     the stored intention it refers to filled in)
    """

    pinned_provider: str | None = None
    route_country: str = ""
    payload: dict[str, Any] | None = None


# prepare(payload, client_id) runs in a worker thread (it may query the database) after the
# payload is validated and before credit is held. It raises a GatewayError to refuse the call
# (404 for another client's resource, 409 for a finished one): nothing is charged.
PrepareHook = Callable[[dict[str, Any], int], Preparation]
# fan_out(answers) -> (provider slug, data): a method asking every candidate at once (which
# registrar sells this domain cheapest) combines the answers of those that answered.
FanOutHook = Callable[[list[tuple[str, dict[str, Any]]]], tuple[str, dict[str, Any]]]
# present(provider slug, answer) -> what the client sees: an answer may carry what only
# on_recorded should get (a registrar sub-account and its password must never reach the
# client, the response cache or a stored idempotent answer).
PresentHook = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass(eq=False)  # compared and hashed by identity: one spec per method
class MethodSpec:
    """One operation of a service, with its request and response contract."""

    request: type[serializers.Serializer]
    response: type[serializers.Serializer]
    summary: str
    description: str = ""
    # Safe to send again to another provider after an attempt whose outcome is unknown.
    idempotent: bool = True
    # Its answer depends only on the payload, so it may be served from the response cache.
    cacheable: bool = False
    # HTTP status of a successful synchronous answer.
    success_status: int = 200
    # What a successful answer is. Not JSON (a PDF): the adapter returns {"document":
    # Document} and the client gets the document's bytes instead of the JSON envelope
    # (apps.gateway.documents); channels that cannot carry bytes refuse such methods.
    media_type: str = JSON_MEDIA_TYPE
    # Called with (entry, data) inside the transaction that records a successful call, for
    # services that keep state about their calls (e.g. which message id a send produced).
    on_recorded: Callable[[Any, dict[str, Any]], None] | None = None
    # Decides per call which provider or country routing is bound to (see Preparation).
    prepare: PrepareHook | None = None
    # Set to ask every usable candidate concurrently and combine their answers.
    fan_out: FanOutHook | None = None
    # Shapes a served answer for the client; on_recorded still gets the whole answer.
    present: PresentHook | None = None
    name: str = ""
    service: str = ""

    def __post_init__(self) -> None:
        if self.binary and (self.cacheable or self.fan_out is not None):
            # The response cache and fan-out combine JSON answers; a document is neither.
            raise ValueError("a method answering a document can be neither cached nor fanned out")

    @property
    def key(self) -> str:
        return f"{self.service}.{self.name}"

    @property
    def binary(self) -> bool:
        """It answers a document (bytes), not the JSON envelope."""
        return self.media_type != JSON_MEDIA_TYPE


class ServiceDefinition:
    """A capability with a stable contract. Subclass, set slug and name, add MethodSpecs."""

    slug: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str] = ""
    methods: ClassVar[dict[str, MethodSpec]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.methods = {}
        for attr, value in vars(cls).items():
            if isinstance(value, MethodSpec):
                value.name = attr
                value.service = cls.slug
                cls.methods[attr] = value


ServiceT = TypeVar("ServiceT", bound=type[ServiceDefinition])
AdapterT = TypeVar("AdapterT", bound="type[ProviderAdapter]")


@dataclass
class Registry:
    services: dict[str, type[ServiceDefinition]] = field(default_factory=dict)
    adapters: dict[str, type[ProviderAdapter]] = field(default_factory=dict)
    # Routing strategies by name, registered by apps.routing.strategies: the catalog checks a
    # routing policy's strategy against these names without importing the routing app.
    strategies: dict[str, Any] = field(default_factory=dict)

    def service(self, cls: ServiceT) -> ServiceT:
        if cls.slug in self.services and self.services[cls.slug] is not cls:
            raise ValueError(f"service {cls.slug!r} is registered twice")
        self.services[cls.slug] = cls
        return cls

    def provider(self, cls: AdapterT) -> AdapterT:
        service = self.services.get(cls.service)
        if service is None:
            raise ValueError(f"{cls.key}: register service {cls.service!r} before its providers")
        unknown = set(cls.provided_methods) - set(service.methods)
        if unknown:
            raise ValueError(f"{cls.key} provides methods {service.slug} lacks: {sorted(unknown)}")
        if cls.key in self.adapters and self.adapters[cls.key] is not cls:
            raise ValueError(f"adapter {cls.key!r} is registered twice")
        self.adapters[cls.key] = cls
        return cls

    def discover(self, package: str) -> None:
        """Import `package`.service and every module of `package`.providers, in name order:
        each registers what it declares (@registry.service, @registry.provider)."""
        importlib.import_module(f"{package}.service")
        providers = importlib.import_module(f"{package}.providers")
        for module in pkgutil.iter_modules(providers.__path__, prefix=f"{providers.__name__}."):
            importlib.import_module(module.name)

    def method(self, key: str) -> MethodSpec | None:
        service_slug, _, method_name = key.partition(".")
        service = self.services.get(service_slug)
        return service.methods.get(method_name) if service else None

    def all_methods(self) -> list[MethodSpec]:
        return [m for s in self.services.values() for m in s.methods.values()]

    def adapters_for(self, method_key: str) -> list[type[ProviderAdapter]]:
        service_slug, _, method_name = method_key.partition(".")
        return [
            a
            for a in self.adapters.values()
            if a.service == service_slug and method_name in a.provided_methods
        ]


registry = Registry()
