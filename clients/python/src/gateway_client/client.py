"""Gateway: the synchronous client."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
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
from gateway_client.pending import PendingCall
from gateway_client.results import Result, local_path, usage_query, usage_row

_sleep = time.sleep  # the tests' clock


class Gateway:
    """A client of one gateway, for one API key.

    >>> gw = Gateway(base_url="http://127.0.0.1:8000", api_key="...")
    >>> gw.currency.latest_rates(base="EUR", symbols=["USD"]).data["rates"]["USD"]

    `base_url` and `api_key` default to GATEWAY_URL and GATEWAY_API_KEY. Errors are raised
    as GatewayError subclasses; calls are retried up to `max_retries` times when that is safe
    (see gateway_client.retry). Pass `http_client` to use your own httpx.Client (proxies,
    certificates); its base URL and headers are set by the Gateway.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        http_client: httpx.Client | None = None,
        **options: Any,
    ) -> None:
        self.config = GatewayConfig(base_url, api_key, **options)
        client_options = self.config.client_options()
        if http_client is None:
            self._http = httpx.Client(**client_options)
        else:
            self._http = http_client
            self._http.base_url = httpx.URL(client_options["base_url"])
            self._http.headers.update(client_options["headers"])

    # -- the catalog -------------------------------------------------------------------------
    def catalog(self, *, refresh: bool = False) -> Catalog:
        """The methods the gateway offers this key (GET /api/v1/services/), fetched once."""
        if self.config.catalog is None or refresh:
            self.config.catalog = Catalog.from_meta(self._get_json(SERVICES_PATH))
        return self.config.catalog

    def __getattr__(self, name: str) -> ServiceProxy:
        if name.startswith("_") or name == "config":
            raise AttributeError(name)
        catalog = self.catalog()
        if name not in catalog.services:
            raise AttributeError(
                f"the gateway has no service {name!r} ({', '.join(catalog.services)})"
            )
        return ServiceProxy(name, catalog, self.call)

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(self.config.catalog.services if self.config.catalog else ())]

    # -- calls -------------------------------------------------------------------------------
    def call(
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
            method, payload, fields, idempotency_key=idempotency_key, info=self._info(method)
        )
        return result_or_raise(self._send(request), method)

    def submit(
        self,
        method: str,
        payload: Mapping[str, Any] | None = None,
        /,
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        **fields: Any,
    ) -> PendingCall:
        """Start `method` in the background (Prefer: respond-async); `wait()` on the answer."""
        headers = {"Prefer": "respond-async"}
        if callback_url is not None:
            headers["X-Callback-URL"] = callback_url
        request = self.config.call_request(
            method,
            payload,
            fields,
            idempotency_key=idempotency_key,
            info=self._info(method),
            extra_headers=headers,
        )
        response = self._send(request)
        if response.status_code != 202:  # answered at once after all
            done = result_or_raise(response, method)
            accepted = {"request_id": done.request_id, "status_url": "", "websocket_url": ""}
        else:
            done, accepted = None, response.json()
        return PendingCall(
            self._get_json,
            request_id=accepted["request_id"],
            method=method,
            status_url=accepted["status_url"],
            websocket_url=accepted["websocket_url"],
            base_url=self.config.base_url,
            auth_headers=self.config.auth_headers,
            done=done,
        )

    def request_status(self, request_id: str) -> dict[str, Any]:
        """Any of your calls by its request id (GET /api/v1/requests/{id}/)."""
        view: dict[str, Any] = self._get_json(f"/api/v1/requests/{request_id}/")
        return view

    def usage(
        self,
        *,
        method: str | None = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Your calls and charges, newest first (GET /api/v1/usage/, every page in turn);
        `price` and `amount` are Decimal. `created_after` is inclusive, `created_before` not."""
        url: str | None = usage_query(method, created_after, created_before)
        while url:
            page = self._get_json(url)
            yield from (usage_row(row) for row in page["results"])
            url = local_path(page["next"]) if page.get("next") else None

    # -- plumbing ----------------------------------------------------------------------------
    def _info(self, method: str) -> MethodInfo | None:
        return self.catalog().methods.get(method)

    def _get_json(self, path: str) -> Any:
        return json_or_raise(self._retrying("GET", path, safe=True, keyed=False))

    def _send(self, request: CallRequest) -> httpx.Response:
        return self._retrying(
            "POST",
            request.path,
            content=request.body,
            headers=request.headers,
            safe=request.safe,
            keyed=request.keyed,
        )

    def _retrying(
        self, verb: str, path: str, *, safe: bool, keyed: bool, **kwargs: Any
    ) -> httpx.Response:
        policy = self.config.retry
        retry = 0
        while True:
            try:
                response = self._http.request(verb, path, **kwargs)
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
            _sleep(delay)

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
