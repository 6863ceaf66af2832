"""A background call sent through the real broker: the traceparent travels in the task's
headers, and the worker's span for the run links to the span that accepted the call."""

import json

import pytest
from opentelemetry.trace import SpanKind

from tests.support.celery import final_call
from tests.support.waiting import wait_until

LATEST = "/api/v1/services/currency/latest_rates/"


@pytest.mark.django_db(transaction=True)
def test_a_task_run_by_a_worker_links_to_the_accepting_span(
    api, caller, sandbox_only, celery_worker, spans
):
    # when a background call is accepted, and its task goes through RabbitMQ to a worker
    accepted = api.post(
        LATEST,
        json.dumps({"base": "EUR"}),
        content_type="application/json",
        headers={**caller.headers, "Prefer": "respond-async", "X-Request-ID": "bg-31"},
    )
    assert accepted.status_code == 202
    final_call("bg-31")

    # then the worker's span is a new trace, linked to the span that answered 202
    def task_span():
        finished = spans.get_finished_spans()
        return [s for s in finished if s.name == "gateway.run_async_call"]

    [task] = wait_until(task_span, what="the task's span")
    finished = spans.get_finished_spans()
    [call] = [s for s in finished if s.kind == SpanKind.SERVER]
    assert task.parent is None and task.context.trace_id != call.context.trace_id
    [link] = task.links
    assert (link.context.trace_id, link.context.span_id) == (
        call.context.trace_id,
        call.context.span_id,
    )
    assert link.context.is_remote  # it came in the message's headers
    assert task.attributes["gateway.request_id"] == "bg-31"
    assert task.attributes["gateway.task.state"] == "SUCCESS"
    [settle] = [s for s in finished if s.name == "gateway.settle"]
    assert settle.parent is not None and settle.parent.span_id == task.context.span_id
