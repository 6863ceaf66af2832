"""OpenTelemetry traces of calls: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

With an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
OTEL_SDK_DISABLED not "true", each process (web worker, Celery worker, queue consumer)
installs the SDK's tracer provider at import, exporting over OTLP/HTTP in batches; every
other standard OTEL_* variable (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, OTEL_PROPAGATORS) is read by the
SDK itself. The service name defaults to `service-gateway`.

Without one nothing is installed and the SDK is not even imported: the call path's hooks
(apps.observability.spans) see `active_tracer()` is None and do no work at all.

The call's spans are made in apps.observability.spans; this module holds the tracer, and
takes a span's context across the broker: a task sent inside a span carries its W3C
traceparent as a header, and the task's own span (one per Celery task run, from its
prerun/postrun signals) starts a trace of its own with a LINK to that span, not as its child:
a background call runs long after the request that accepted it has been answered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer

from apps.core.log_context import REQUEST_ID_HEADER, current_request_id

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

DEFAULT_SERVICE_NAME = "service-gateway"
INSTRUMENTATION_NAME = "service-gateway"
# The W3C Trace Context fields a task's headers carry (OTEL_PROPAGATORS may add others).
CARRIER_FIELDS = ("traceparent", "tracestate")

_tracer: Tracer | None = None


def active_tracer() -> Tracer | None:
    """The tracer of this process, or None when tracing is off."""
    return _tracer


def install(provider: TracerProvider) -> None:
    """Trace calls into `provider` (the process's at start; a test's in-memory one)."""
    global _tracer
    _tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    before_task_publish.connect(_task_headers, weak=False, dispatch_uid="gateway-trace-headers")
    task_prerun.connect(_task_started, weak=False, dispatch_uid="gateway-trace-task-start")
    task_postrun.connect(_task_ended, weak=False, dispatch_uid="gateway-trace-task-end")


def uninstall() -> None:
    global _tracer
    _tracer = None


def enabled_by(environ: Mapping[str, str]) -> bool:
    """Whether the environment asks for traces: an OTLP endpoint, and the SDK not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    )


def provider_from(environ: Mapping[str, str]) -> TracerProvider | None:
    """The SDK's tracer provider the environment asks for, exporting over OTLP/HTTP; None
    when tracing is off (then the SDK is never imported)."""
    if not enabled_by(environ):
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    # Batched on a thread of its own (restarted in forked workers): a call never waits on
    # the collector.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def configure_from_env() -> bool:
    """Install the provider the environment asks for, if any; True when tracing is on."""
    provider = provider_from(os.environ)
    if provider is None:
        return False
    trace.set_tracer_provider(provider)
    install(provider)
    return True


def current_carrier() -> dict[str, str]:
    """The current span's context as task headers (W3C traceparent); empty when off."""
    if _tracer is None:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextmanager
def trace_context(carrier: Mapping[str, str]) -> Iterator[None]:
    """Make the span that `carrier` names current inside the block: for a thread that sends
    a task on behalf of a call it does not share a context with."""
    if _tracer is None or not carrier:
        yield
        return
    token = otel_context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


def carrier_of(headers: Mapping[str, Any]) -> dict[str, str]:
    """The trace context fields of a message's headers (a queue message's, a task's)."""
    return {f: v for f in CARRIER_FIELDS if isinstance(v := headers.get(f), str) and v}


def _task_headers(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Celery's before_task_publish: a task sent inside a span carries its traceparent."""
    if _tracer is not None and headers is not None:
        propagate.inject(headers)


def links_from(carrier: Mapping[str, str]) -> list[Link]:
    """A link to the span whose context `carrier` holds; with an empty carrier, to the
    current span (an eager task runs inside the call that sent it: no headers go out)."""
    span = trace.get_current_span(propagate.extract(carrier) if carrier else None)
    context = span.get_span_context()
    return [Link(context)] if context.is_valid else []


def _header(task_request: Any, name: str) -> str | None:
    # A worker has a message's custom headers as attributes of the request; eager, in headers.
    value = getattr(task_request, name, None) or (getattr(task_request, "headers", None) or {}).get(
        name
    )
    return value if isinstance(value, str) and value else None


def _task_started(task_id: str = "", task: Any = None, **_: Any) -> None:
    request = getattr(task, "request", None)
    if _tracer is None or request is None:
        return
    carrier = {f: v for f in CARRIER_FIELDS if (v := _header(request, f)) is not None}
    span = _tracer.start_span(
        str(task.name),
        context=Context(),  # a trace of its own, whatever context the task runs in
        kind=SpanKind.CONSUMER,
        links=links_from(carrier),
        attributes={"messaging.system": "celery", "messaging.message.id": task_id},
        record_exception=False,
        set_status_on_exception=False,
    )
    request_id = _header(request, REQUEST_ID_HEADER) or current_request_id()
    if request_id and span.is_recording():
        span.set_attribute("gateway.request_id", request_id)
    request.trace_span = span
    request.trace_token = otel_context.attach(trace.set_span_in_context(span))


def _task_ended(task: Any = None, state: str | None = None, **_: Any) -> None:
    request: Any = getattr(task, "request", None)
    span = getattr(request, "trace_span", None)
    if span is None:
        return
    otel_context.detach(request.trace_token)
    request.trace_span = request.trace_token = None
    if span.is_recording():
        span.set_attribute("gateway.task.state", state or "")
        if state == "FAILURE":
            span.set_status(Status(StatusCode.ERROR, "task failed"))
    span.end()


configure_from_env()
