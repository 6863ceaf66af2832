"""The spans of a call, hooked into the call path as decorators and one context manager.

    POST /api/v1/services/{service}/{method}/   (server; continues an incoming traceparent)
      gateway.admission                          authentication .. credit hold
      gateway.attempt                            one per provider asked (client)
      gateway.settle                             the ledger row, charge and hold, together
    gateway.run_async_call                       a background run (consumer, a trace of its
      gateway.attempt, gateway.settle            own, LINKED to the call that accepted it:
                                                 apps.observability.tracing)

Attributes name the call (gateway.service, gateway.method, gateway.request_id, the client's
slug) and what happened to it; never a header, a key, a credential, a payload or a
library's error text (exceptions are not recorded: their messages can hold a vendor's URL
with its query string).

With tracing off (apps.observability.tracing) every hook returns after one check; with it on
but a span not sampled, no attribute is built.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import httpx
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer

from apps.observability.tracing import active_tracer, carrier_of

P = ParamSpec("P")
R = TypeVar("R")

CALL_ROUTE = "/api/v1/services/{service}/{method}/"
_KINDS = {
    "http": SpanKind.SERVER,
    "async": SpanKind.SERVER,
    "ws": SpanKind.SERVER,
    "mq": SpanKind.CONSUMER,
}
_HTTP_CHANNELS = frozenset({"http", "async"})
_NAME_MAX = 100
# A provider that answered "your input is invalid" did its job: not an error of the span.
_NOT_ERRORS = frozenset({"ok", "rejected"})
_OFF: AbstractContextManager[None] = nullcontext()


def call_traced(handle: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The call's span around the pipeline's `handle_call(request)`, on every channel."""

    @wraps(handle)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = active_tracer()
        if tracer is None:
            return await handle(*args, **kwargs)
        request: Any = args[0]
        http = request.channel in _HTTP_CHANNELS
        with tracer.start_as_current_span(
            f"POST {CALL_ROUTE}" if http else f"gateway.call {request.channel}",
            # The caller's traceparent, else whatever is current (a queue message's). Only the
            # trace context fields: a caller's `baggage` would ride on into every task's headers.
            context=propagate.extract(
                carrier_of(request.headers or {}), context=otel_context.get_current()
            ),
            kind=_KINDS.get(request.channel, SpanKind.INTERNAL),
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            recording = span.is_recording()
            if recording:
                span.set_attributes(_call_attributes(request, http))
            try:
                response: Any = await handle(*args, **kwargs)
            except BaseException as exc:
                if recording:
                    _failed(span, type(exc).__name__)
                raise
            if recording:
                _answered(span, response, http)
            return response  # type: ignore[no-any-return]

    return traced


def _call_attributes(request: Any, http: bool) -> dict[str, Any]:
    service, method = str(request.service)[:_NAME_MAX], str(request.method)[:_NAME_MAX]
    attributes: dict[str, Any] = {
        "gateway.service": service,
        "gateway.method": method,
        "gateway.request_id": request.request_id,
        "gateway.channel": request.channel,
    }
    if http:
        attributes |= {
            "http.request.method": "POST",
            "http.route": CALL_ROUTE,
            "url.path": f"/api/v1/services/{service}/{method}/",
        }
        if request.source_ip:
            attributes["client.address"] = request.source_ip
    return attributes


def _answered(span: Span, response: Any, http: bool) -> None:
    status = int(response.status)
    span.set_attribute("http.response.status_code" if http else "gateway.status", status)
    provider = response.headers.get("X-Provider")
    if provider:
        span.set_attribute("gateway.provider", provider)
    if response.request_id:  # an idempotent replay answers with the first call's id
        span.set_attribute("gateway.replay_of", response.request_id)
    if status >= 500:
        _failed(span, str(status))


def admission_traced(admit: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The admission's span around `admit_call(request)`; it names the client on the call's
    span too, once authentication has found it. The stage admission returns (Admitted,
    Replayed or Refused, apps.gateway.stages) says how it ended."""

    @wraps(admit)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = active_tracer()
        if tracer is None:
            return await admit(*args, **kwargs)
        call_span = trace.get_current_span()
        with tracer.start_as_current_span(
            "gateway.admission", record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                stage: Any = await admit(*args, **kwargs)
            except BaseException as exc:
                if span.is_recording():
                    _refused(span, exc)
                raise
            _client_named(getattr(stage, "call", stage), span, call_span)
            if span.is_recording():
                error = getattr(stage, "error", None)
                if error is not None:
                    _refused(span, error)
                else:
                    span.set_attribute("gateway.admission.outcome", stage.admission_outcome)
            return stage  # type: ignore[no-any-return]

    return traced


def _refused(span: Span, exc: BaseException) -> None:
    status = getattr(exc, "status", None)
    span.set_attribute("gateway.admission.outcome", "refused")
    span.set_attribute("error.type", type(exc).__name__)
    if isinstance(status, int):
        span.set_attribute("gateway.status", status)
    if not isinstance(status, int) or status >= 500:
        span.set_status(Status(StatusCode.ERROR, type(exc).__name__))


def _client_named(call: Any, *spans: Span) -> None:
    principal = getattr(call, "principal", None)
    if principal is None:
        return
    for span in spans:
        if span.is_recording():
            span.set_attribute("gateway.client", principal.client_slug)


def attempt_traced(
    provider: str, method: str, classify: Callable[[BaseException], tuple[str, str]]
) -> AbstractContextManager[None]:
    """The span of one provider attempt, around the adapter's call; `classify` gives the
    outcome of an exception (apps.routing.attempts.failure_of)."""
    tracer = active_tracer()
    if tracer is None:
        return _OFF
    return _attempt_span(tracer, provider, method, classify)


@contextmanager
def _attempt_span(
    tracer: Tracer,
    provider: str,
    method: str,
    classify: Callable[[BaseException], tuple[str, str]],
) -> Iterator[None]:
    started = time.perf_counter()
    with tracer.start_as_current_span(
        "gateway.attempt",
        kind=SpanKind.CLIENT,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        recording = span.is_recording()
        if recording:
            span.set_attributes({"gateway.provider": provider, "gateway.method": method})
        outcome = "ok"
        try:
            yield
        except BaseException as exc:
            cancelled = isinstance(exc, asyncio.CancelledError)
            outcome = "cancelled" if cancelled else classify(exc)[0]
            raise
        finally:
            if recording:
                span.set_attribute("gateway.attempt.outcome", outcome)
                latency_ms = round((time.perf_counter() - started) * 1000, 1)
                span.set_attribute("gateway.attempt.latency_ms", latency_ms)
                if outcome not in _NOT_ERRORS:
                    _failed(span, outcome)


async def outbound_response(response: httpx.Response) -> None:
    """httpx's response hook: the attempt's span gets the vendor's HTTP status (and host:
    never the URL, whose query can hold a credential)."""
    if active_tracer() is None:
        return
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("http.response.status_code", response.status_code)
        span.set_attribute("server.address", response.request.url.host)


def settle_traced(record: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """The settle's span around `record_<outcome>(stage)` (apps.gateway.recording): the
    ledger row, the charge and the hold, written together."""

    @wraps(record)
    async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
        tracer = active_tracer()
        if tracer is None:
            return await record(*args, **kwargs)
        with tracer.start_as_current_span(
            "gateway.settle", record_exception=False, set_status_on_exception=False
        ) as span:
            if span.is_recording():
                stage: Any = args[0]
                span.set_attribute("gateway.settle.kind", stage.kind)
                span.set_attribute("gateway.status", int(stage.response.status))
            try:
                return await record(*args, **kwargs)
            except BaseException as exc:
                if span.is_recording():
                    _failed(span, type(exc).__name__)
                raise

    return traced


def _failed(span: Span, error_type: str) -> None:
    span.set_attribute("error.type", error_type)
    span.set_status(Status(StatusCode.ERROR, error_type))
