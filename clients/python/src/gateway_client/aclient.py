"""AsyncGateway: the asyncio client, the same calls as Gateway awaited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from gateway_client.catalog import Catalog, MethodInfo, ServiceProxy
from gateway_client.core import (
    SERVICES_PATH,
    CallRequest,
    GatewayConfig,
    connection_failed,
    json_or_raise,
    problem_type,
    result_or_raise,
)
from gateway_client.pending import AsyncPendingCall
from gateway_client.results import Result, local_path, usage_query, usage_row

_sleep = asyncio.sleep  # the tests' clock


class AsyncGateway:
    """The asyncio client; use it as `async with AsyncGateway(...) as agw:`.

    `await agw.currency.latest_rates(base="EUR")`, `await agw.call(...)`,
    `await (await agw.submit(...)).wait()`; options as Gateway's.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        **options: Any,
    ) -> None:
        self.config = GatewayConfig(base_url, api_key, **options)
        client_options = self.config.client_options()
        if http_client is None:
            self._http = httpx.AsyncClient(**client_options)
        else:
            self._http = http_client
            self._http.base_url = httpx.URL(client_options["base_url"])
            self._http.headers.update(client_options["headers"])
        self._catalog_lock = asyncio.Lock()

    async def catalog(self, *, refresh: bool = False) -> Catalog:
        """The methods the gateway offers this key (GET /api/v1/services/), fetched once."""
        async with self._catalog_lock:
            if self.config.catalog is None or refresh:
                self.config.catalog = Catalog.from_meta(await self._get_json(SERVICES_PATH))
        return self.config.catalog

    def __getattr__(self, name: str) -> ServiceProxy:
        if name.startswith("_") or name == "config":
            raise AttributeError(name)
        catalog = self.config.catalog
        if catalog is not None and name not in catalog.services:
            raise AttributeError(
                f"the gateway has no service {name!r} ({', '.join(catalog.services)})"
            )
        return ServiceProxy(name, catalog, self.call)

    async def call(
        self,
        method: str,
        payload: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        **fields: Any,
    ) -> Result:
        """Call `method` ("service.name") with `payload` and/or keyword fields."""
        request = self.config.call_request(
            method, payload, fields, idempotency_key=idempotency_key, info=await self._info(method)
        )
        return result_or_raise(await self._send(request), method)

    async def submit(
        self,
        method: str,
        payload: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        **fields: Any,
    ) -> AsyncPendingCall:
        """Start `method` in the background (Prefer: respond-async); `await wait()` on it."""
        headers = {"Prefer": "respond-async"}
        if callback_url is not None:
            headers["X-Callback-URL"] = callback_url
        request = self.config.call_request(
            method,
            payload,
            fields,
            idempotency_key=idempotency_key,
            info=await self._info(method),
            extra_headers=headers,
        )
        response = await self._send(request)
        if response.status_code != 202:
            done = result_or_raise(response, method)
            accepted = {"request_id": done.request_id, "status_url": "", "websocket_url": ""}
        else:
            done, accepted = None, response.json()
        return AsyncPendingCall(
            self._get_json,
            request_id=accepted["request_id"],
            method=method,
            status_url=accepted["status_url"],
            websocket_url=accepted["websocket_url"],
            base_url=self.config.base_url,
            auth_headers=self.config.auth_headers,
            done=done,
        )

    async def request_status(self, request_id: str) -> dict[str, Any]:
        """Any of your calls by its request id (GET /api/v1/requests/{id}/)."""
        view: dict[str, Any] = await self._get_json(f"/api/v1/requests/{request_id}/")
        return view

    async def usage(
        self,
        *,
        method: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Your calls and charges, newest first: `async for row in agw.usage(): ...`."""
        url: str | None = usage_query(method, created_after, created_before)
        while url:
            page = await self._get_json(url)
            for row in page["results"]:
                yield usage_row(row)
            url = local_path(page["next"]) if page.get("next") else None

    async def _info(self, method: str) -> MethodInfo | None:
        return (await self.catalog()).methods.get(method)

    async def _get_json(self, path: str) -> Any:
        return json_or_raise(await self._retrying("GET", path, safe=True, keyed=False))

    async def _send(self, request: CallRequest) -> httpx.Response:
        return await self._retrying(
            "POST",
            request.path,
            content=request.body,
            headers=request.headers,
            safe=request.safe,
            keyed=request.keyed,
        )

    async def _retrying(
        self, verb: str, path: str, *, safe: bool, keyed: bool, **kwargs: Any
    ) -> httpx.Response:
        policy = self.config.retry
        retry = 0
        while True:
            try:
                response = await self._http.request(verb, path, **kwargs)
            except httpx.TransportError as exc:
                delay = policy.after_exception(exc, retry, safe=safe)
                if delay is None:
                    raise connection_failed(exc, self.config.base_url) from exc
            else:
                if response.is_success:
                    return response
                kind = problem_type(response)
                delay = policy.after_response(response, kind, retry, safe=safe, keyed=keyed)
                if delay is None:
                    return response
            retry += 1
            await _sleep(delay)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGateway:
        await self.catalog()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
