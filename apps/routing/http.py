"""One pooled async HTTP client per process and event loop, shared by every adapter.

Adapters speak httpx; the bytes go over aiohttp (apps.routing.transport) unless
GATEWAY_HTTP_TRANSPORT is "httpcore", httpx's own transport.
"""

import asyncio
import weakref
from typing import NamedTuple

import httpx
from django.conf import settings

from apps.core.egress_http import AsyncEgressTransport
from apps.observability.spans import outbound_response
from apps.routing.transport import AiohttpTransport


class _Client(NamedTuple):
    http: httpx.AsyncClient
    transport: AiohttpTransport | None


_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Client]" = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.http.is_closed:
        _forget_closed_loops()
        client = _clients[loop] = _new_client()
    return client.http


def _new_client() -> _Client:
    limits = httpx.Limits(
        max_connections=settings.GATEWAY_HTTP_MAX_CONNECTIONS,
        max_keepalive_connections=settings.GATEWAY_HTTP_MAX_KEEPALIVE,
    )
    # Both transports connect only where the egress policy allows (apps.core.egress).
    transport: AiohttpTransport | None = None
    if settings.GATEWAY_HTTP_TRANSPORT == "aiohttp":
        transport = AiohttpTransport(max_connections=settings.GATEWAY_HTTP_MAX_CONNECTIONS)
    http = httpx.AsyncClient(
        transport=transport or AsyncEgressTransport(limits=limits),
        headers={"User-Agent": "service-gateway/1.0"},
        follow_redirects=False,
        event_hooks={"response": [outbound_response]},  # the vendor's status, on a trace
    )
    return _Client(http, transport)


def _forget_closed_loops() -> None:
    """Drop the clients of event loops that closed without closing them (async_to_sync runs
    each call in a loop of its own): their connections can no longer be used."""
    for loop, client in list(_clients.items()):
        if loop.is_closed():
            del _clients[loop]
            if client.transport is not None:
                client.transport.abandon()


async def close_http_client() -> None:
    """Close this event loop's client: for loops that end (a Celery task's, a probe's)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.http.aclose()
