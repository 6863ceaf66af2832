"""One pooled async HTTP client per process and event loop, shared by every adapter.

Adapters speak httpx; the bytes go over aiohttp (apps.routing.transport) unless
GATEWAY_HTTP_TRANSPORT is "httpcore", httpx's own transport.
"""

import asyncio
import weakref
from typing import Any, NamedTuple

import httpx
from django.conf import settings

from apps.core.egress_http import AsyncEgressTransport
from apps.observability.spans import outbound_response
from apps.routing.transport import AiohttpTransport


class GatewayHttpClient(httpx.AsyncClient):
    """httpx's client, minus work it repeated on every request of an adapter: a URL with
    its query parameters is parsed once, and an answer with no cookie is not looked into
    for cookies (140 -> 50 us of CPU a request, ~4 % of a call's). What it sends and
    answers, and the cookies it keeps, are httpx's.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _VendorCookies()
        # (url, params) -> the request's URL, for the URLs adapters asked for lately.
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}

    def build_request(self, method: str, url: httpx.URL | str, **kwargs: Any) -> httpx.Request:
        params = kwargs.get("params")
        if isinstance(url, str) and type(params) is dict and not self.params:
            key = (url, tuple(params.items()))
            known = self._urls.get(key)
            if known is None and all(type(v) is str for _, v in key[1]):
                # What httpx.Request makes of them (it replaces any query the URL had).
                known = httpx.URL(self._merge_url(url), params=params)
                if len(self._urls) >= _URLS_KEPT:
                    self._urls.clear()
                self._urls[key] = known
            if known is not None:
                url, kwargs["params"] = known, None
        return super().build_request(method, url, **kwargs)


_URLS_KEPT = 1024


class _VendorCookies(httpx.Cookies):
    """The client's cookie jar; an answer without Set-Cookie is not looked into (what
    urllib's jar does with one costs ~10 us)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


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
    http = GatewayHttpClient(
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
