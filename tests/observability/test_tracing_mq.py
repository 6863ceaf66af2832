"""A queue message's traceparent is continued by its call's span, like an HTTP one."""

import pytest
from django.core.management import call_command
from opentelemetry.trace import SpanKind

from tests.support.mq import send

pytestmark = pytest.mark.django_db(transaction=True)

TRACE_ID, PARENT_ID = "5a1b2c3d4e5f60718293a4b5c6d7e8f9", "1122334455667788"


def test_a_message_with_a_traceparent_continues_the_producers_trace(
    caller, sandbox_only, mq, spans
):
    # given a call command published inside the producer's span
    send(
        mq,
        {
            "service": "currency",
            "method": "latest_rates",
            "payload": {"base": "EUR"},
            "client": "acme",
        },
        headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"},
    )

    # when the consumer runs it
    call_command("consume_calls", "--max-messages=1", "--idle-timeout=10")

    # then the call's span is the producer span's child, with the stages under it
    finished = spans.get_finished_spans()
    [call] = [s for s in finished if s.name == "gateway.call mq"]
    assert call.kind == SpanKind.CONSUMER
    assert format(call.context.trace_id, "032x") == TRACE_ID
    assert call.parent is not None and format(call.parent.span_id, "016x") == PARENT_ID
    assert call.attributes["gateway.client"] == "acme"
    assert call.attributes["gateway.status"] == 200
    children = sorted(
        s.name for s in finished if s.parent and s.parent.span_id == call.context.span_id
    )
    assert children == ["gateway.admission", "gateway.attempt", "gateway.settle"]
