"""Traces of a call (apps.observability.tracing, .spans), read from the SDK's in-memory
exporter: the span tree, a continued traceparent, a background call's link, no secrets."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from apps.catalog.models import Offering, Provider
from apps.gateway.asgi_calls import CallEndpoint
from apps.observability import tracing
from tests.integrations.currency.vendor_answers import OXR_LATEST

LATEST = "/api/v1/services/currency/latest_rates/"
FIXER_KEY = "fixer-secret-7f3a9c"
OXR_APP_ID = "oxr-secret-51bd02"

pytestmark = pytest.mark.django_db


class _Vendor(BaseHTTPRequestHandler):
    status = 200
    body: dict = {}
    seen: list[str]

    def do_GET(self) -> None:
        self.seen.append(self.path)
        payload = json.dumps(self.body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


def _listen(status: int, body: dict, seen: list[str]) -> ThreadingHTTPServer:
    handler = type("Vendor", (_Vendor,), {"status": status, "body": body, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def failing_fixer_then_oxr(db: None, egress_private: None) -> Iterator[list[str]]:
    """fixer (first) answers 503 Service Unavailable; Open Exchange Rates serves. Both are
    real listeners on this machine, answering in the vendors' formats."""
    seen: list[str] = []  # the paths the vendors were asked, query string included
    fixer = _listen(503, {"message": "maintenance"}, seen)
    oxr = _listen(200, OXR_LATEST, seen)
    Provider.objects.exclude(slug__in=["fixer", "openexchangerates"]).update(enabled=False)
    for slug, server, credentials, priority in (
        ("fixer", fixer, {"access_key": FIXER_KEY}, 1),
        ("openexchangerates", oxr, {"app_id": OXR_APP_ID}, 2),
    ):
        provider = Provider.objects.get(slug=slug)
        provider.base_url = f"http://127.0.0.1:{server.server_port}/api"
        provider.credentials, provider.enabled = credentials, True
        provider.save()
        Offering.objects.filter(provider=provider).update(priority=priority)
    yield seen
    for server in (fixer, oxr):
        server.shutdown()
        server.server_close()


def post(api, caller, headers=None, body=None):
    return api.post(
        LATEST,
        json.dumps(body or {"base": "USD"}),
        content_type="application/json",
        headers={**caller.headers, **(headers or {})},
    )


def named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in finished if s.name == name]


def test_a_call_is_a_server_span_over_admission_each_attempt_and_the_settle(
    api, caller, failing_fixer_then_oxr, spans
):
    # when a call fails over from fixer (503) to Open Exchange Rates
    response = post(api, caller, headers={"X-Request-ID": "find-me-42"})

    # then one trace: the call, and under it admission, two attempts and the settle
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    [call] = named(finished, f"POST {'/api/v1/services/{service}/{method}/'}")
    [admission] = named(finished, "gateway.admission")
    fixer, oxr = named(finished, "gateway.attempt")
    [settle] = named(finished, "gateway.settle")
    for child in (admission, fixer, oxr, settle):
        assert child.parent is not None and child.parent.span_id == call.context.span_id
        assert child.context.trace_id == call.context.trace_id
    assert call.parent is None and call.kind == SpanKind.SERVER
    assert {k: call.attributes[k] for k in call.attributes} == {
        "gateway.service": "currency",
        "gateway.method": "latest_rates",
        "gateway.request_id": "find-me-42",
        "gateway.channel": "http",
        "gateway.client": "acme",
        "gateway.provider": "openexchangerates",
        "http.request.method": "POST",
        "http.route": "/api/v1/services/{service}/{method}/",
        "url.path": LATEST,
        "client.address": "127.0.0.1",
        "http.response.status_code": 200,
    }
    assert admission.attributes["gateway.admission.outcome"] == "admitted"
    assert (fixer.kind, fixer.attributes["gateway.provider"]) == (SpanKind.CLIENT, "fixer")
    assert fixer.attributes["gateway.attempt.outcome"] == "http_error"
    assert fixer.attributes["http.response.status_code"] == 503
    assert fixer.status.status_code == StatusCode.ERROR
    assert oxr.attributes["gateway.provider"] == "openexchangerates"
    assert oxr.attributes["gateway.attempt.outcome"] == "ok"
    assert oxr.attributes["http.response.status_code"] == 200
    assert oxr.attributes["gateway.attempt.latency_ms"] >= 0
    assert oxr.start_time >= fixer.end_time  # one after the other, in failover order
    assert settle.attributes["gateway.settle.kind"] == "served"


def test_no_key_credential_or_payload_is_on_any_span(api, caller, failing_fixer_then_oxr, spans):
    # when a call is made with its API key, against providers with their credentials
    assert post(api, caller, body={"base": "USD", "symbols": ["JPY"]}).status_code == 200
    assert any(FIXER_KEY in path for path in failing_fixer_then_oxr)  # they were sent

    # then none of them is anywhere on the trace: attributes, events, links, names
    finished = spans.get_finished_spans()
    assert len(finished) == 5
    text = "\n".join(span.to_json() for span in finished)
    for secret in (caller.key, FIXER_KEY, OXR_APP_ID, "Api-Key", "symbols", "JPY"):
        assert secret not in text


def test_an_incoming_traceparent_is_continued(api, caller, sandbox_only, spans):
    # given a caller that traces its own request
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"

    # when it calls with a W3C traceparent
    response = post(api, caller, headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})

    # then the call's span is a child of the caller's span, in the caller's trace
    assert response.status_code == 200
    [call] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert format(call.context.trace_id, "032x") == trace_id
    assert call.parent is not None and format(call.parent.span_id, "016x") == parent_id
    assert call.parent.is_remote
    assert all(s.context.trace_id == call.context.trace_id for s in spans.get_finished_spans())


# Committed for real: the task is sent when the record commits, inside the accepting call.
@pytest.mark.django_db(transaction=True)
def test_a_background_call_links_to_the_span_that_accepted_it(api, caller, sandbox_only, spans):
    # when a call is accepted for the background (eager Celery runs its task at once)
    accepted = post(api, caller, headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202

    # then the task's span starts a trace of its own, linked to the accepting call's span
    finished = spans.get_finished_spans()
    [call] = [s for s in finished if s.kind == SpanKind.SERVER]
    [task] = named(finished, "gateway.run_async_call")
    assert call.attributes["http.response.status_code"] == 202
    assert task.kind == SpanKind.CONSUMER and task.parent is None
    assert task.context.trace_id != call.context.trace_id
    [link] = task.links
    assert (link.context.trace_id, link.context.span_id) == (
        call.context.trace_id,
        call.context.span_id,
    )
    assert task.attributes["gateway.request_id"] == call.attributes["gateway.request_id"]
    # and the run's attempt and settle are in the task's trace, under its span
    for name in ("gateway.attempt", "gateway.settle"):
        [span] = named(finished, name)
        assert span.parent is not None and span.parent.span_id == task.context.span_id


@pytest.mark.parametrize("on", [True, False], ids=["on", "off"])
def test_with_tracing_off_a_call_makes_no_span(api, caller, failing_fixer_then_oxr, on):
    # given an in-memory exporter, installed only when tracing is on
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    if on:
        tracing.install(provider)
    try:
        # when a call is made
        assert post(api, caller).status_code == 200
    finally:
        tracing.uninstall()

    # then spans exist only when tracing is on, and no span is current afterwards
    assert len(exporter.get_finished_spans()) == (5 if on else 0)
    assert not trace.get_current_span().get_span_context().is_valid


@pytest.mark.django_db(transaction=True)
async def test_the_asgi_call_endpoint_traces_the_call_too(caller, sandbox_only, spans):
    # given the endpoint that production serves calls from, before Django
    async def django(scope, receive, send):
        raise AssertionError("a call must not reach Django")

    transport = httpx.ASGITransport(app=CallEndpoint(django), client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        # when a call comes in with a traceparent
        response = await http.post(
            LATEST,
            json={"base": "EUR"},
            headers={
                **caller.headers,
                "X-Request-ID": "asgi-7",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
        )

    # then its span continues that trace, with the stages under it
    assert response.status_code == 200
    finished = spans.get_finished_spans()
    [call] = [s for s in finished if s.kind == SpanKind.SERVER]
    assert format(call.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert call.attributes["gateway.request_id"] == "asgi-7"
    assert call.attributes["client.address"] == "203.0.113.9"
    assert call.attributes["http.response.status_code"] == 200
    names = sorted(
        s.name for s in finished if s.parent and s.parent.span_id == call.context.span_id
    )
    assert names == ["gateway.admission", "gateway.attempt", "gateway.settle"]


def test_tracing_is_on_only_with_an_otlp_endpoint(monkeypatch):
    for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}

    assert tracing.provider_from({}) is None
    assert tracing.provider_from({**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    provider = tracing.provider_from(endpoint)
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "service-gateway"
    provider.shutdown()

    monkeypatch.setenv("OTEL_SERVICE_NAME", "gateway-eu")
    named_provider = tracing.provider_from(endpoint)
    assert named_provider is not None
    assert named_provider.resource.attributes["service.name"] == "gateway-eu"
    named_provider.shutdown()


def test_a_callers_baggage_is_not_taken_in(api, caller, sandbox_only, spans, monkeypatch):
    # given a hook inside the call that reads the W3C baggage current there
    from opentelemetry import baggage

    from apps.routing import executor

    seen: list[dict[str, object]] = []
    counted = executor.attempts_made
    monkeypatch.setattr(
        executor,
        "attempts_made",
        lambda *args: (seen.append(dict(baggage.get_all())), counted(*args))[1],
    )

    # when a caller sends a traceparent and a baggage header
    trace_id, parent_id = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = post(
        api,
        caller,
        headers={"traceparent": f"00-{trace_id}-{parent_id}-01", "baggage": "user=alice"},
    )

    # then the trace is continued, but the baggage stays outside (no task carries it on)
    assert response.status_code == 200
    [call] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert format(call.context.trace_id, "032x") == trace_id
    assert seen == [{}]
