"""What the sync and the async client share: configuration, how a call becomes an HTTP
request, and how an answer becomes a Result or an exception."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from gateway_client.catalog import Catalog, MethodInfo
from gateway_client.errors import ConnectionFailed, GatewayError, error_from_response
from gateway_client.results import Result, result_from_response
from gateway_client.retry import RetryPolicy

__version__ = "0.1.0"
USER_AGENT = f"service-gateway-client/{__version__}"
SERVICES_PATH = "/api/v1/services/"
DEFAULT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CallRequest:
    """One logical call, as sent on every attempt (the same Idempotency-Key each time)."""

    method: str  # "currency.latest_rates"
    path: str
    body: bytes
    headers: dict[str, str]
    safe: bool  # may be sent again after it may have reached a provider
    keyed: bool  # carries an Idempotency-Key


class GatewayConfig:
    """Settings of a client: where the gateway is, the key, retries and time-outs."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_retries: int = 2,
        timeout: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        auto_idempotency_keys: bool = True,
    ) -> None:
        base_url = base_url or os.environ.get("GATEWAY_URL")
        api_key = api_key or os.environ.get("GATEWAY_API_KEY")
        if not base_url:
            raise ValueError("Pass base_url= or set GATEWAY_URL (e.g. http://127.0.0.1:8000).")
        if not api_key:
            raise ValueError("Pass api_key= or set GATEWAY_API_KEY (make run prints one).")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy(max_retries=max_retries)
        self.auto_idempotency_keys = auto_idempotency_keys
        self.catalog: Catalog | None = None

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.api_key}"}

    def client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "headers": {**self.auth_headers, "User-Agent": USER_AGENT},
            "timeout": self.timeout,
        }

    def call_request(
        self,
        method: str,
        payload: Mapping[str, Any] | None,
        fields: Mapping[str, Any],
        *,
        idempotency_key: str | None,
        info: MethodInfo | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> CallRequest:
        service, dot, name = method.partition(".")
        if not dot or not service or not name or "/" in method:
            raise ValueError(
                f"A method is named 'service.method', e.g. currency.latest_rates: {method!r}"
            )
        idempotent = info is not None and info.idempotent
        generate = self.auto_idempotency_keys and self.retry.max_retries > 0
        if idempotency_key is None and not idempotent and generate:
            # One key per logical call, the same on every retry (as Stripe's clients do):
            # the gateway answers a retry with the first attempt's outcome, never twice.
            idempotency_key = str(uuid.uuid4())
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return CallRequest(
            method=method,
            path=f"{SERVICES_PATH}{service}/{name}/",
            body=json.dumps({**(payload or {}), **fields}).encode(),
            headers=headers,
            safe=idempotent or idempotency_key is not None,
            keyed=idempotency_key is not None,
        )


def problem_type(response: httpx.Response) -> str:
    if response.is_success or "json" not in response.headers.get("Content-Type", ""):
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("type") or "") if isinstance(body, dict) else ""


def connection_failed(exc: httpx.TransportError, url: str) -> GatewayError:
    return ConnectionFailed(f"No answer from the gateway at {url}: {type(exc).__name__}")


def result_or_raise(response: httpx.Response, method: str) -> Result:
    if response.is_success:
        return result_from_response(response, method)
    raise error_from_response(response)


def json_or_raise(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    raise error_from_response(response)
