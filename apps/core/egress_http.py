"""httpx transports whose every connection obeys the egress policy (apps.core.egress).

httpcore opens its connections through a "network backend"; these wrap httpcore's own: the
host is resolved here, every address checked, and the inner backend is handed a checked
IP address, so it never resolves anything itself. TLS still checks the certificate against
the URL's host name (httpcore passes that, not the address, as the server name). No
proxies from the environment: a proxy would make the connection for us, unchecked.
"""

from __future__ import annotations

import functools
import ssl
import typing

import anyio.to_thread
import httpcore
import httpx

from apps.core.egress import EgressRefused, resolve

_SocketOptions = typing.Iterable[typing.Any] | None
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's defaults


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every transport: making one loads the CA bundle (~25 ms of CPU),
    and a callback delivery builds a transport each time."""
    return httpx.create_ssl_context(trust_env=False)


class _CheckedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: _SocketOptions = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except EgressRefused as exc:
            raise httpcore.ConnectError(exc.reason) from exc
        error: Exception = httpcore.ConnectError("no address")
        for _, address in addresses:
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> typing.NoReturn:
        raise httpcore.ConnectError("unix sockets are not a destination")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncCheckedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: _SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await anyio.to_thread.run_sync(resolve, host, port)
        except EgressRefused as exc:
            raise httpcore.ConnectError(exc.reason) from exc
        error: Exception = httpcore.ConnectError("no address")
        for _, address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> typing.NoReturn:
        raise httpcore.ConnectError("unix sockets are not a destination")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# httpx.HTTPTransport takes no network backend: each transport below builds httpx's
# default one and then swaps in a pool (public httpcore API) that uses the checked backend;
# handle_request and httpx's exception mapping stay httpx's own.


class EgressTransport(httpx.HTTPTransport):
    """A synchronous httpx transport that connects only where the egress policy allows."""

    def __init__(self, *, limits: httpx.Limits = _LIMITS) -> None:
        super().__init__(verify=_tls(), trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=_tls(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_CheckedBackend(),
        )


class AsyncEgressTransport(httpx.AsyncHTTPTransport):
    """The asynchronous one (providers' calls when GATEWAY_HTTP_TRANSPORT is httpcore)."""

    def __init__(self, *, limits: httpx.Limits = _LIMITS) -> None:
        super().__init__(verify=_tls(), trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_tls(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_AsyncCheckedBackend(),
        )
