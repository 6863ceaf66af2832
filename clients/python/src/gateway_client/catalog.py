"""The gateway's methods, as GET /api/v1/services/ describes them (the meta-schema), and
the attribute access that turns `gw.currency.latest_rates(...)` into a call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MethodInfo:
    key: str  # "currency.latest_rates"
    service: str
    name: str
    summary: str = ""
    description: str = ""
    idempotent: bool = False
    cacheable: bool = False
    media_type: str = "application/json"
    request_schema: dict[str, Any] = field(default_factory=dict, repr=False)
    response_schema: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_document(self) -> bool:
        return self.media_type != "application/json"


@dataclass(frozen=True)
class Catalog:
    services: dict[str, str]  # slug -> description
    methods: dict[str, MethodInfo]

    @classmethod
    def from_meta(cls, meta: list[dict[str, Any]]) -> Catalog:
        services: dict[str, str] = {}
        methods: dict[str, MethodInfo] = {}
        for service in meta:
            slug = str(service["slug"])
            services[slug] = str(service.get("description") or service.get("name") or "")
            for method in service.get("methods", []):
                info = MethodInfo(
                    key=str(method["key"]),
                    service=slug,
                    name=str(method["name"]),
                    summary=str(method.get("summary") or ""),
                    description=str(method.get("description") or ""),
                    idempotent=bool(method.get("idempotent")),
                    cacheable=bool(method.get("cacheable")),
                    media_type=str(method.get("media_type") or "application/json"),
                    request_schema=method.get("request_schema") or {},
                    response_schema=method.get("response_schema") or {},
                )
                methods[info.key] = info
        return cls(services=services, methods=methods)

    def service_methods(self, service: str) -> list[MethodInfo]:
        return [m for m in self.methods.values() if m.service == service]


class ServiceProxy:
    """`gw.currency`: its attributes are the service's methods, bound to `call`.

    Without a catalog (an AsyncGateway that has not fetched it yet) any name is taken as a
    method, and the gateway says whether it exists when it is called."""

    def __init__(self, service: str, catalog: Catalog | None, call: Callable[..., Any]) -> None:
        self._service = service
        self._catalog = catalog
        self._call = call

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        key = f"{self._service}.{name}"
        if self._catalog is None:
            return _bound(MethodInfo(key=key, service=self._service, name=name), self._call)
        info = self._catalog.methods.get(key)
        if info is None:
            known = ", ".join(self.__dir__())
            raise AttributeError(f"service {self._service!r} has no method {name!r} ({known})")
        return _bound(info, self._call)

    def __dir__(self) -> list[str]:
        if self._catalog is None:
            return []
        return sorted(m.name for m in self._catalog.service_methods(self._service))

    def __repr__(self) -> str:
        return f"<gateway service {self._service}: {', '.join(self.__dir__())}>"


def _bound(info: MethodInfo, call: Callable[..., Any]) -> Callable[..., Any]:
    def method(payload: dict[str, Any] | None = None, /, **fields: Any) -> Any:
        return call(info.key, payload, **fields)

    method.__name__ = info.name
    method.__qualname__ = info.key
    method.__doc__ = "\n\n".join(p for p in (info.summary, info.description) if p)
    return method
