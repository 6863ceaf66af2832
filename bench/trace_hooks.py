"""What the tracing hooks cost one call, in CPU time, apart from the rest of the call.

    .venv/bin/python bench/trace_hooks.py

A call's shape without its work: `handle_call` -> `admit_call`, one provider attempt, and
`record_served`, as empty coroutines, run 20,000 times on one event loop (best of 7, by
time.process_time, so other work on a shared machine does not count). Compared: without the
hooks (the code before tracing), the hooks with tracing off, the hooks with tracing on but
the trace not sampled, tracing on into the SDK's batch processor with an exporter that drops
every span (making spans, not sending them), and tracing on with the OTLP/HTTP exporter to a
local sink that answers 200 (the whole cost in this process: process_time counts the
exporter's thread too). The batch queue is made large enough that no span is dropped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings_test")
for name in [k for k in os.environ if k.startswith("OTEL_")]:
    del os.environ[name]

import django  # noqa: E402

django.setup()

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF  # noqa: E402

from apps.observability import spans, tracing  # noqa: E402

CALLS, REPEAT = 20_000, 7


class Dropping(SpanExporter):
    def export(self, batch: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _classify(exc: BaseException) -> tuple[str, str]:
    return "adapter_error", ""


def call_shape(hooked: bool) -> Callable[[Any], Awaitable[Any]]:
    request = SimpleNamespace(
        request_id="bench-1",
        service="currency",
        method="latest_rates",
        channel="http",
        headers={"Authorization": "Api-Key x", "Content-Type": "application/json"},
        source_ip="127.0.0.1",
    )
    principal = SimpleNamespace(client_slug="acme")
    response = SimpleNamespace(status=200, headers={"X-Provider": "fixer"}, request_id=None)

    admitted = SimpleNamespace(admission_outcome="admitted", principal=principal)
    served = SimpleNamespace(kind="served", response=response)

    async def admit(req: Any, *, started: float) -> Any:
        return admitted

    async def record(stage: Any) -> None:
        return None

    if hooked:
        admit, record = spans.admission_traced(admit), spans.settle_traced(record)

    async def handle(req: Any) -> Any:
        await admit(req, started=0.0)
        if hooked:
            with spans.attempt_traced("fixer", "currency.latest_rates", _classify):
                await asyncio.sleep(0)
        else:
            await asyncio.sleep(0)
        await record(served)
        return response

    traced = spans.call_traced(handle) if hooked else handle

    async def one() -> Any:
        return await traced(request)

    return one


def traced_into(exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider()
    processor = BatchSpanProcessor(exporter, max_queue_size=CALLS * REPEAT * 5)
    provider.add_span_processor(processor)
    tracing.install(provider)
    return provider


def measure(label: str, hooked: bool, provider: TracerProvider | None = None) -> float:
    one = call_shape(hooked)

    async def many() -> None:
        for _ in range(CALLS):
            await one()

    best = float("inf")
    loop = asyncio.new_event_loop()
    for _ in range(REPEAT):
        start = time.process_time()
        loop.run_until_complete(many())
        if provider is not None:
            provider.force_flush()  # what is still queued is this round's work too
        best = min(best, (time.process_time() - start) / CALLS * 1e6)
    loop.close()
    print(f"| {label} | {best:.1f} |")
    return best


def main() -> None:
    print("| the call's shape (no work) | µs CPU per call |")
    print("| --- | --- |")
    base = measure("no hooks (before tracing)", hooked=False)
    off = measure("hooks, tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT)", hooked=True)
    tracing.install(TracerProvider(sampler=ALWAYS_OFF))
    unsampled = measure("hooks, tracing on, trace not sampled", hooked=True)
    provider = traced_into(Dropping())
    on = measure("hooks, tracing on, 5 spans into a dropping exporter", True, provider)
    provider.shutdown()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{sink.server_port}/v1/traces"
    provider = traced_into(OTLPSpanExporter(endpoint=url))
    otlp = measure("hooks, tracing on, 5 spans sent over OTLP/HTTP", True, provider)
    provider.shutdown()
    tracing.uninstall()
    sink.shutdown()
    print(
        f"\noff: +{off - base:.1f} µs a call; not sampled: +{unsampled - base:.1f} µs; "
        f"on: +{on - base:.1f} µs (made), +{otlp - base:.1f} µs (made and sent)"
    )


if __name__ == "__main__":
    main()
