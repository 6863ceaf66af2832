"""Issue #12 leftovers: what a failed callback delivery keeps, and when it stops.

A delivery the egress policy refuses (the URL names an internal address) is final: asking
again gets the same answer, so it is not retried, and it says why. No failed delivery keeps a
library's text: httpx names the URL, query and all, in its messages.
"""

from __future__ import annotations

import pytest

from apps.realtime.models import CallbackDelivery
from apps.realtime.services import callback_deliver
from apps.realtime.tasks import deliver_callback
from tests.support.callbacks import finished_call
from tests.support.servers import Listener

pytestmark = pytest.mark.django_db

TOKEN = "cb-0ur-5ecret-t0ken-77"


def test_a_delivery_refused_by_the_egress_policy_is_not_retried(settings):
    # given a call whose callback URL names loopback, and five deliveries allowed
    settings.GATEWAY_CALLBACK_MAX_DELIVERIES = 5
    settings.GATEWAY_CALLBACK_BACKOFF_S = 0
    listener = Listener("127.0.0.1")
    call = finished_call(f"http://127.0.0.1:{listener.port}/hooks?token={TOKEN}")

    # when the delivery task runs (eagerly: a retry would run at once, in line)
    try:
        deliver_callback.apply(args=[call.pk])
    finally:
        listener.close()

    # then one attempt, final, saying why; nothing reached the address
    (delivery,) = CallbackDelivery.objects.filter(call=call)
    assert listener.received == []
    assert (delivery.delivered, delivery.final) == (False, True)
    assert delivery.error == "address refused by the egress policy; not retried"
    # and running the task again (a duplicate message) delivers nothing more
    assert callback_deliver(call_id=call.pk) is None
    assert CallbackDelivery.objects.filter(call=call).count() == 1


def test_a_failed_connection_keeps_our_reason_not_the_librarys_text(settings):
    # given a callback URL on a port where nothing listens (loopback allowed here)
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True
    listener = Listener("127.0.0.1")
    port = listener.port
    listener.close()
    call = finished_call(f"http://127.0.0.1:{port}/hooks?token={TOKEN}")

    # when
    delivery = callback_deliver(call_id=call.pk)

    # then the reason is ours, and the delivery may be retried
    assert delivery is not None
    assert delivery.error == "connection refused"
    assert not delivery.final
