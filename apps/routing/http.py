"""One pooled async HTTP client per process and event loop, shared by every adapter."""

import asyncio
import weakref

import httpx
from django.conf import settings

_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient]" = (
    weakref.WeakKeyDictionary()
)


def http_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=settings.GATEWAY_HTTP_MAX_CONNECTIONS,
                max_keepalive_connections=settings.GATEWAY_HTTP_MAX_KEEPALIVE,
            ),
            headers={"User-Agent": "service-gateway/1.0"},
            follow_redirects=False,
        )
        _clients[loop] = client
    return client
