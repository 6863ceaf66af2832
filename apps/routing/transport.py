"""httpx requests sent over aiohttp's connection pool.

Adapters keep httpx's API (requests, responses, exceptions; respx fakes it in the tests);
underneath, aiohttp moves the bytes. Under the benchmark's load httpx's own transport
(httpcore on anyio) cost 1.4 ms of CPU per request at 32 concurrent requests and this one
0.3 ms (docs/benchmarks.md): the largest single item of a call's CPU.

What matters most is that every failure keeps the meaning the adapters and the executor
rely on: an exception saying the request never left (connect errors and timeouts, a bad
URL) must only be raised when nothing was sent, since a method that is not idempotent (an
email) is tried at another provider only then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
from yarl import URL

from apps.core.egress import checked_socket

# aiohttp's errors as httpx's, most specific first. ConnectionTimeoutError and
# ClientConnectorError are raised while connecting (nothing sent); ClientConnectorError is
# a ClientOSError too, so it must come before the errors of an established connection.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),  # not a valid HTTP answer
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientError, httpx.ReadError),
)


def _as_httpx(exc: aiohttp.ClientError) -> httpx.TransportError:
    # Only the class's name: aiohttp's message holds the request URL, query string (an
    # access_key) and all. The original stays chained as __cause__ for the classification.
    for aiohttp_error, httpx_error in _ERRORS:
        if isinstance(exc, aiohttp_error):
            return httpx_error(type(exc).__name__)
    return httpx.ReadError(type(exc).__name__)  # pragma: no cover (ClientError catches all)


class _Body(httpx.AsyncByteStream):
    """The answer's body as aiohttp reads it; closing it returns the connection to the pool."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except aiohttp.ClientError as exc:
            raise _as_httpx(exc) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (made on first use, in the event loop that uses it) per transport.

    httpx has already built the request (headers, query, body): it is sent as it is, with no
    header of aiohttp's own, no redirect followed and no body decoded (httpx decodes).
    """

    def __init__(self, *, max_connections: int, keepalive_expiry: float = 5.0) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None

    def _session_now(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections,
                    keepalive_timeout=self._keepalive_expiry,
                    # Base URLs are ops' to change: every socket to a checked address only.
                    socket_factory=checked_socket,
                ),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()
        try:
            response = await self._session_now().request(
                request.method,
                URL(str(request.url), encoded=True),  # httpx has quoted it already
                # As httpcore sends them: the names in the case they were given.
                headers=[
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw
                ],
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=timeouts.get("connect"),
                    sock_read=timeouts.get("read"),
                ),
            )
        except aiohttp.ClientError as exc:
            raise _as_httpx(exc) from exc
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response),
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def abandon(self) -> None:
        """Its event loop has closed (a per-call loop of async_to_sync), so nothing can be
        awaited any more: mark the session closed, so that it is neither reported as leaked
        nor used again; its sockets close with their transports."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            connector = session.connector
            session.detach()
            if connector is not None:
                connector._close()  # synchronous; with the loop closed it only marks it closed
