"""Background calls (Prefer: respond-async): admitted now, answered 202, run by a worker.

Admission is the pipeline's (authentication, price, limits, validation, idempotency, the
credit hold): bad input still gets its 4xx at once. The admitted call becomes an AsyncCall
record, and the task `gateway.run_async_call` runs it by id (apps.gateway.background_run):

- a run claims the record with one conditional UPDATE (pending -> running, or a running
  record whose lease ran out because its worker died), so two deliveries never run at once;
- a provider fault ends the run, not the call: the record goes back to pending with the
  run's attempts and the task is retried after an exponential, jittered backoff, until the
  method's max_attempts runs are spent (the credit hold stays held all along);
- the final run settles the call: the record turns final in the transaction that writes the
  ledger row, charges and drops the hold, and only if it was not final already, so a task
  delivered twice never charges or records twice;
- then the result goes to the websocket group of the call and to its callback URL.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.billing.idempotency import idempotency_complete
from apps.core.db import then_release_connection
from apps.core.errors import InvalidRequest
from apps.core.log_context import call_noted
from apps.gateway.dispatch import DELIVER_CALLBACK_TASK, async_call_dispatch, task_send
from apps.gateway.stages import Accepted, Admitted, GatewayResponse
from apps.realtime.models import AsyncCall
from apps.realtime.tokens import websocket_token

logger = logging.getLogger(__name__)


async def async_call_accept(admitted: Admitted) -> Accepted:
    """Store an admitted call and answer 202; its task is sent once the record is committed.
    From here the record owns the call's hold, free call and key: its run settles them."""
    record = await sync_to_async(then_release_connection(_store))(admitted)
    call_noted({}, client=admitted.principal.client_slug)  # the 202's access record: no charge yet
    return Accepted(call=admitted, response=_accepted_response(record))


def _store(call: Admitted) -> AsyncCall:
    principal, route, request = call.principal, call.route, call.request
    try:
        with transaction.atomic():
            record = AsyncCall.objects.create(
                request_id=request.request_id,
                client_id=principal.client_id,
                api_key_id=principal.key_id,
                channel=request.channel,
                service=route.spec.service,
                method=route.spec.name,
                body=request.body.decode(),
                country=call.country,
                price=call.price,
                hold_id=call.hold.id if call.hold else None,
                free_month_start=call.free.month_start if call.free else None,
                callback_url=request.callback_url,
            )
            if call.idempotency_id is not None:
                # A retry with the same key gets this 202 again (same request id), not a
                # second background call.
                accepted = _accepted_response(record)
                idempotency_complete(
                    record_id=call.idempotency_id,
                    status=accepted.status,
                    body=accepted.body,
                    headers=accepted.headers,
                )
            transaction.on_commit(
                lambda: async_call_dispatch(call_id=record.pk, request_id=record.request_id)
            )
    except IntegrityError as exc:
        raise InvalidRequest(
            f"The request id {request.request_id!r} already names one of your background calls."
        ) from exc
    return record


def _accepted_response(record: AsyncCall) -> GatewayResponse:
    status_url = reverse("request-detail", kwargs={"request_id": record.request_id})
    token = websocket_token(call_id=record.pk, client_id=record.client_id)
    return GatewayResponse(
        status=202,
        body={
            "request_id": record.request_id,
            "status": AsyncCall.Status.PENDING,
            "status_url": status_url,
            "websocket_url": f"/ws/requests/{record.request_id}/?token={token}",
        },
        headers={"Location": status_url, "Preference-Applied": "respond-async"},
    )


def record_result(response: GatewayResponse) -> dict[str, Any]:
    """The stored result of a call: its HTTP status and the body a sync call would get."""
    return {"http_status": response.status, "body": json.loads(response.render())}


def async_call_finish(
    call_id: int, response: GatewayResponse, *, attempts: list[dict[str, Any]]
) -> bool:
    """Mark the call final (inside the ledger row's transaction); False if it already was."""
    record = AsyncCall.objects.select_for_update().filter(pk=call_id).first()
    if record is None or record.is_final:
        return False
    record.status = AsyncCall.Status.SUCCEEDED if response.status < 400 else AsyncCall.Status.FAILED
    result = record_result(response)
    record.result_status, record.result = result["http_status"], result["body"]
    record.attempts = attempts
    record.finished_at = timezone.now()
    record.lease_until = None
    record.save(
        update_fields=[
            "status",
            "result_status",
            "result",
            "attempts",
            "finished_at",
            "lease_until",
        ]
    )
    return True


def async_call_callback(call_id: int) -> None:
    """Once the settle commits: the result to the call's callback URL, if it has one."""
    if AsyncCall.objects.filter(pk=call_id).exclude(callback_url="").exists():
        transaction.on_commit(lambda: task_send(DELIVER_CALLBACK_TASK, call_id))


async def async_call_publish(call_id: int) -> None:
    """Tell the call's websocket subscribers its result (they send it once, then close)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        await layer.group_send(
            f"async-call.{call_id}", {"type": "call.finished", "call_id": call_id}
        )
    except Exception:
        # The result is stored: a subscriber that missed this reads it when it connects.
        logger.exception("could not publish the result of background call %s", call_id)


def async_calls_stale(*, older_than_s: float) -> list[int]:
    """Pending calls whose run should have started `older_than_s` ago and has not: the task
    never reached the broker, or its message was lost. Sending it again is safe (a run
    claims its call, so two deliveries never run it twice)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return list(
        AsyncCall.objects.filter(status=AsyncCall.Status.PENDING)
        .filter(Q(next_run_at__lt=cutoff) | Q(next_run_at__isnull=True, created_at__lt=cutoff))
        .values_list("pk", flat=True)
    )
