"""Adapters called the way the executor calls them, over an httpx client respx intercepts
(the fixtures every vendor area of tests/integrations uses)."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from apps.catalog.providers import CallContext, ProviderAdapter, ProviderConfig
from apps.catalog.registry import registry

Call = Callable[[ProviderAdapter, str, dict[str, Any]], Awaitable[dict[str, Any]]]


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def adapter(http: httpx.AsyncClient) -> Callable[..., ProviderAdapter]:
    """adapter(Fixer, access_key="k"): the adapter at its vendor's documented URL."""

    def build(cls: type[ProviderAdapter], **credentials: str) -> ProviderAdapter:
        config = ProviderConfig(
            slug=cls.default_slug,
            adapter=cls.key,
            base_url=cls.default_base_url,
            timeout_ms=cls.default_timeout_ms,
            credentials=credentials,
        )
        return cls(config, http)

    return build


@pytest.fixture
def call() -> Call:
    """call(adapter, "convert", {...}): the payload validated as the pipeline validates it."""

    async def run(adapter: ProviderAdapter, method: str, data: dict[str, Any]) -> dict[str, Any]:
        spec = registry.method(f"{adapter.service}.{method}")
        assert spec is not None
        serializer = spec.request(data=data)
        serializer.is_valid(raise_exception=True)
        context = CallContext(request_id="req-1", method=spec.key, client="acme", country="DE")
        return await adapter.call(method, dict(serializer.validated_data), context)

    return run
