"""OpenTelemetry traces of calls: off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.

With an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and
OTEL_SDK_DISABLED not "true", each process (web worker, Celery worker, queue consumer)
installs the SDK's tracer provider at import, exporting over OTLP/HTTP in batches; every
other standard OTEL_* variable (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES,
OTEL_TRACES_SAMPLER, OTEL_EXPORTER_OTLP_HEADERS, OTEL_BSP_*, OTEL_PROPAGATORS) is read by the
SDK itself. The service name defaults to `service-gateway`.

Without one nothing is installed and the SDK is not even imported: the call path's hooks
(apps.observability.spans) see `active_tracer()` is None and do no work at all.

The spans themselves are made in apps.observability.spans; this module holds the tracer,
and the carrier that takes a span's context across the broker to a background task.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, Tracer

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


def links_from(carrier: Mapping[str, str]) -> list[Link]:
    """A link to the span whose context `carrier` holds (none when it holds none)."""
    context = trace.get_current_span(propagate.extract(carrier)).get_span_context()
    return [Link(context)] if context.is_valid else []


configure_from_env()
