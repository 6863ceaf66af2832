"""The base class every provider adapter implements, and the two ways a provider can fail.

An adapter translates one normalised method call into a vendor's API and the vendor's answer
back into the normalised response. It classifies every failure as either

* ProviderFault: the provider could not serve (down, slow, 5xx, garbage, outage, quota,
  our credentials refused). The router fails over to the next candidate.
* InvalidInput: the provider says the client's input is wrong. No failover; the client
  gets 422.

The rest of the gateway sees only this interface.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx

from apps.catalog.failures import answer_reason, failure_reason, retry_after_seconds
from apps.core import jsonbytes

HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[dict[str, Any]]])


class ProviderFault(Exception):
    """The provider failed to serve; another provider may.

    `sent` says whether the request may have reached the provider: a timeout after the
    request went out leaves the outcome unknown, which matters for non-idempotent methods.
    """

    def __init__(
        self,
        outcome: str,
        detail: str,
        *,
        sent: bool = True,
        retry_after_s: float | None = None,
    ) -> None:
        self.outcome = outcome
        self.detail = detail
        self.sent = sent
        self.retry_after_s = retry_after_s
        super().__init__(f"{outcome}: {detail}")


class InvalidInput(Exception):
    """The provider rejected the input itself (unknown currency, bad address...)."""

    def __init__(self, detail: str, *, errors: dict[str, list[str]] | None = None) -> None:
        self.detail = detail
        self.errors = errors
        super().__init__(detail)


# Outcomes recorded on attempts; faults are everything but "ok" and "rejected".
OUTCOME_OK = "ok"
OUTCOME_REJECTED = "rejected"
OUTCOME_CONNECTION = "connection_error"
OUTCOME_TIMEOUT = "timeout"
OUTCOME_HTTP_ERROR = "http_error"
OUTCOME_MALFORMED = "malformed"
OUTCOME_OUTAGE = "outage"
OUTCOME_QUOTA = "quota_exceeded"
OUTCOME_AUTH = "auth_failed"
OUTCOME_MISCONFIGURED = "misconfigured"
OUTCOME_ADAPTER_ERROR = "adapter_error"  # a bug in our adapter, not the provider's fault


@dataclass(frozen=True)
class ProviderConfig:
    """What ops configured for one provider row, as the adapter needs it."""

    slug: str
    adapter: str
    base_url: str
    timeout_ms: int
    credentials: Mapping[str, str] = field(default_factory=dict)

    @property
    def timeout_s(self) -> float:
        return self.timeout_ms / 1000


@dataclass(frozen=True)
class CallContext:
    request_id: str
    method: str
    client: str
    country: str
    # Service code pins a call to one provider (a domain is managed where it was
    # registered): only that provider is tried, and when it is down the call gets 503.
    pinned_provider: str | None = None
    # Set by a method's prepare hook: only providers serving this country are candidates.
    route_country: str = ""
    # The address the call came from (None for queued calls): who agreed to a registrar's
    # terms when the caller did not name the end customer's address.
    source_ip: str | None = None


def provides(method_name: str) -> Callable[[HandlerT], HandlerT]:
    """Mark an adapter coroutine as the implementation of one of its service's methods."""

    def mark(handler: HandlerT) -> HandlerT:
        handler._provides = method_name  # type: ignore[attr-defined]
        return handler

    return mark


class ProviderAdapter:
    """How to talk to one vendor. Subclass per vendor, one module each.

    Class attributes an integrator sets:
      key               "service.vendor", what Provider.adapter refers to; the adapter's
                        `service` is its first part (set for you)
      default_slug      slug of the Provider row created for it by the catalog sync; the
                        key's vendor part unless set
      display_name      shown in the admin
      default_base_url  the vendor's documented API root
      credential_fields names of the secrets ops may store, as the vendor names them
      required_credentials  those a call cannot do without (default: all of
                        credential_fields); e.g. a webhook's secret is optional for sending
      countries         ISO 3166-1 alpha-2 codes it serves when a method routes by country
                        (Preparation.route_country); None serves every country
    """

    key: ClassVar[str]
    service: ClassVar[str]
    default_slug: ClassVar[str]
    display_name: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    credential_fields: ClassVar[tuple[str, ...]] = ()
    required_credentials: ClassVar[tuple[str, ...] | None] = None
    default_timeout_ms: ClassVar[int] = 2000
    countries: ClassVar[frozenset[str] | None] = None
    provided_methods: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        provided = dict(getattr(cls, "provided_methods", {}))
        for attr, value in vars(cls).items():
            method_name = getattr(value, "_provides", None)
            if method_name:
                provided[method_name] = attr
        cls.provided_methods = provided
        if "key" in vars(cls):
            cls._name_from_key()

    @classmethod
    def _name_from_key(cls) -> None:
        """`service` and the default slug, from a key "service.vendor"."""
        service, _, vendor = cls.key.partition(".")
        if not service or not vendor:
            raise TypeError(f"{cls.__name__}.key must read 'service.vendor', not {cls.key!r}")
        if getattr(cls, "service", service) != service:
            raise TypeError(f"{cls.__name__} serves {cls.service!r} but its key is {cls.key!r}")
        cls.service = service
        if "default_slug" not in vars(cls):
            cls.default_slug = vendor

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    async def call(
        self, method_name: str, payload: dict[str, Any], context: CallContext
    ) -> dict[str, Any]:
        self._check_credentials()
        handler = getattr(self, self.provided_methods[method_name])
        try:
            result: dict[str, Any] = await handler(payload, context)
        except (ProviderFault, InvalidInput):
            raise
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            # The answer did not have the shape the vendor documents.
            raise ProviderFault(OUTCOME_MALFORMED, answer_reason(exc)) from exc
        return result

    async def health_probe(self) -> None:
        """One cheap request showing that the vendor answers and accepts our credentials.

        Adapters declare one (a vendor's status, usage or currency-list endpoint): the active
        health checks call it on a schedule and feed the result to the provider's breakers.
        Return when healthy; raise ProviderFault when not.
        """
        raise NotImplementedError

    @classmethod
    def has_health_probe(cls) -> bool:
        return cls.health_probe is not ProviderAdapter.health_probe

    async def probe(self) -> None:
        """Run the health probe the way a call runs: credentials checked, surprises classified."""
        self._check_credentials()
        try:
            await self.health_probe()
        except (ProviderFault, InvalidInput):
            raise
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
            raise ProviderFault(OUTCOME_MALFORMED, answer_reason(exc)) from exc

    @classmethod
    def required_credential_names(cls) -> tuple[str, ...]:
        if cls.required_credentials is None:
            return cls.credential_fields
        return cls.required_credentials

    @classmethod
    def missing_credentials(cls, credentials: Mapping[str, str]) -> list[str]:
        """The required credentials that `credentials` lacks (what a call would refuse)."""
        return [name for name in cls.required_credential_names() if not credentials.get(name)]

    def _check_credentials(self) -> None:
        missing = self.missing_credentials(self.config.credentials)
        if missing:
            raise ProviderFault(
                OUTCOME_MISCONFIGURED, f"missing credentials: {', '.join(missing)}", sent=False
            )

    # -- helpers for subclasses ------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    async def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send one request to the vendor; network failures become ProviderFaults."""
        kwargs.setdefault("timeout", self.config.timeout_s)
        try:
            return await self.http.request(method, self.url(path), **kwargs)
        except httpx.HTTPError as exc:
            raise _transport_fault(exc) from exc

    @contextlib.asynccontextmanager
    async def stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[httpx.Response]:
        """Like send(), for a body read in chunks inside the block (`response.aiter_bytes()`):
        network failures while sending or reading become ProviderFaults."""
        kwargs.setdefault("timeout", self.config.timeout_s)
        try:
            async with self.http.stream(method, self.url(path), **kwargs) as response:
                yield response
        except httpx.HTTPError as exc:
            raise _transport_fault(exc) from exc

    @staticmethod
    def json_of(response: httpx.Response) -> Any:
        try:
            return jsonbytes.loads(response.content)
        except ValueError as exc:
            raise ProviderFault(
                OUTCOME_MALFORMED, f"HTTP {response.status_code} with a body that is not JSON"
            ) from exc

    @staticmethod
    def raise_for_server_error(response: httpx.Response) -> None:
        """5xx and 429 are the provider's trouble, whatever the body says."""
        if response.status_code == 429:
            raise ProviderFault(
                OUTCOME_QUOTA,
                "HTTP 429 Too Many Requests",
                retry_after_s=retry_after_seconds(response),
            )
        if response.status_code >= 500:
            raise ProviderFault(OUTCOME_HTTP_ERROR, f"HTTP {response.status_code}")

    @staticmethod
    def refusal(status: int, detail: str) -> ProviderFault:
        """A non-2xx answer that is not about the input: our credentials (401, 403) or the
        provider's HTTP error. Returned for the caller to raise: `raise self.refusal(...)`."""
        return ProviderFault(OUTCOME_AUTH if status in (401, 403) else OUTCOME_HTTP_ERROR, detail)


def _transport_fault(exc: httpx.HTTPError) -> ProviderFault:
    if isinstance(
        exc,
        (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.ProxyError,
            httpx.UnsupportedProtocol,
            httpx.LocalProtocolError,
        ),
    ):
        # Raised before the request could leave: any provider may be tried next.
        return ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return ProviderFault(OUTCOME_TIMEOUT, failure_reason(exc), sent=True)
    return ProviderFault(OUTCOME_CONNECTION, failure_reason(exc), sent=True)
