"""Settling a served call when the database goes away: retried, then kept until it is back.

A call that a provider served must end up billed exactly once, and its Idempotency-Key must
never let a retry reach the provider a second time. So when its settle (ledger row, charge,
hold dropped, stored answer: apps.gateway.recording) fails:

1. it is tried again a few times with a short backoff (GATEWAY_SETTLE_RETRY_DELAYS_S, within
   GATEWAY_SETTLE_RETRY_BUDGET_S);
2. if it still fails, the whole outcome (every field of the ledger row, the hold, the
   answer to store for the idempotent replay) is marked pending (apps.billing.pending) and
   handed to the task `gateway.settle_pending`, which goes through the broker, not the
   database, and writes it once the database is back (settle_pending_apply: idempotent on
   the call's request id, one transaction);
3. the client gets 503 outcome-unknown (apps.core.errors.OutcomeUnknown), never a 200
   without its ledger row and never "failed and unbilled".

The embedded run has no broker: there a thread of the process retries until the database
answers (a process that stops meanwhile leaves the hold, which the dangling-hold release
records as interrupted).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import psycopg
from asgiref.sync import sync_to_async
from celery import current_app
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError, OperationalError, close_old_connections, transaction

from apps.accounts.models import Client
from apps.billing.idempotency import idempotency_complete
from apps.billing.pending import settle_pending_mark, settle_pending_unmark
from apps.billing.services import HeldCredit
from apps.catalog.registry import registry
from apps.gateway.stages import GatewayResponse
from apps.ledger.models import LedgerEntry
from apps.ledger.services import ledger_record_call

logger = logging.getLogger(__name__)

SETTLE_PENDING_TASK = "gateway.settle_pending"
# What a statement raises when the database is down, restarting or unreachable.
DATABASE_GONE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)

SettleOnce = Callable[[GatewayResponse, list[dict[str, Any]]], bool]
T = TypeVar("T")


async def settle_retrying(write: Callable[[], Awaitable[T]], *, request_id: str) -> T:
    """Run `write`, again after each delay of GATEWAY_SETTLE_RETRY_DELAYS_S while the
    database is gone, but start no attempt after GATEWAY_SETTLE_RETRY_BUDGET_S (an attempt
    may itself wait for a connection): the client is not kept waiting. The last failure is
    raised."""
    give_up_at = time.monotonic() + settings.GATEWAY_SETTLE_RETRY_BUDGET_S
    for delay in settings.GATEWAY_SETTLE_RETRY_DELAYS_S:
        try:
            return await write()
        except DATABASE_GONE:
            if time.monotonic() + delay > give_up_at:
                raise
            logger.warning("settle of %s failed; again in %.2f s", request_id, delay)
            await asyncio.sleep(delay)
    return await write()


def pending_settle(
    *,
    fields: dict[str, Any],
    hold: HeldCredit | None,
    response: GatewayResponse,
    idempotency_id: int | None,
    on_recorded: tuple[str, dict[str, Any]] | None,
    async_call_id: int | None,
) -> dict[str, Any]:
    """Everything settle_pending_apply needs, as JSON (the task's argument)."""
    pending = {
        "fields": fields,
        "hold": {"id": hold.id, "amount": hold.amount} if hold else None,
        "response": {
            "status": response.status,
            "body": response.body,
            "headers": {k: v for k, v in response.headers.items() if k != "Retry-After"},
        },
        "idempotency_id": idempotency_id,
        "on_recorded": list(on_recorded) if on_recorded else None,
        "async_call_id": async_call_id,
    }
    # Decimals become strings here and are read back as Decimals in _fields_of.
    loaded: dict[str, Any] = json.loads(json.dumps(pending, cls=DjangoJSONEncoder))
    return loaded


async def settle_hand_off(pending: dict[str, Any], *, settle_once: SettleOnce | None) -> None:
    """Keep a settle the database could not take: marked pending, written when it is back."""
    await sync_to_async(_hand_off, thread_sensitive=False)(pending, settle_once)


def _hand_off(pending: dict[str, Any], settle_once: SettleOnce | None) -> None:
    fields = pending["fields"]
    request_id = fields["request_id"]
    try:
        settle_pending_mark(client_id=fields["client_id"], request_id=request_id)
    except Exception:
        # A priced call's open hold still keeps its key taken; say loudly what is at stake.
        logger.exception("could not mark the settle of %s pending", request_id)
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            worker = threading.Thread(
                target=_settle_until_written,
                args=(pending, settle_once),
                name=f"settle-{request_id}",
                daemon=True,
            )
            worker.start()
        else:
            current_app.send_task(
                SETTLE_PENDING_TASK,
                args=[pending],
                retry=True,
                retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
            )
    except Exception:
        # Neither database nor broker: the log is all that is left to replay it from.
        logger.critical(
            "served call %s could not be recorded nor handed off; its outcome: %s",
            request_id,
            json.dumps(pending),
        )
        raise
    logger.error("served call %s is kept to be recorded once the database is back", request_id)


def _settle_until_written(pending: dict[str, Any], settle_once: SettleOnce | None) -> None:
    delay = 0.5
    while True:
        try:
            settle_pending_apply(pending, settle_once=settle_once)
            return
        except DATABASE_GONE:
            time.sleep(delay)
            delay = min(delay * 2, 30.0)
        finally:
            close_old_connections()


def settle_pending_apply(pending: dict[str, Any], *, settle_once: SettleOnce | None = None) -> bool:
    """Write a pending settle: the ledger row, the charge, the hold dropped, the stored
    answer and the service's own record, in one transaction. False (and nothing written)
    when the call's row exists already: a task delivered twice charges once."""
    fields = _fields_of(pending)
    client_id, request_id = fields["client_id"], fields["request_id"]
    with transaction.atomic():
        # Two deliveries of the same settle queue on the client's row; the second sees the
        # first one's ledger row below.
        list(Client.objects.select_for_update().filter(pk=client_id).values_list("pk"))
        written = not _recorded(client_id, request_id)
        response = GatewayResponse(**pending["response"])
        if written and settle_once is not None:
            written = settle_once(response, fields["attempts"])
        if written:
            hold = pending["hold"]
            entry = ledger_record_call(
                hold=HeldCredit(id=hold["id"], amount=Decimal(hold["amount"])) if hold else None,
                **fields,
            )
            if pending["on_recorded"]:
                method, data = pending["on_recorded"]
                spec = registry.method(method)
                if spec is not None and spec.on_recorded is not None:
                    spec.on_recorded(entry, data)
            if pending["idempotency_id"] is not None:
                idempotency_complete(record_id=pending["idempotency_id"], **pending["response"])
        transaction.on_commit(
            lambda: settle_pending_unmark(client_id=client_id, request_id=request_id)
        )
    if written:
        logger.info("pending settle of %s written", request_id)
    return written


def _recorded(client_id: int, request_id: str) -> bool:
    # A row the dangling-hold release wrote (interrupted, unbilled) does not count: the call
    # was served after all, and its charge is still owed.
    return (
        LedgerEntry.objects.filter(
            client_id=client_id, request_id=request_id, kind=LedgerEntry.Kind.CHARGE
        )
        .exclude(error_type="interrupted")
        .exists()
    )


def _fields_of(pending: dict[str, Any]) -> dict[str, Any]:
    fields = dict(pending["fields"])
    fields["cost"], fields["price"] = Decimal(fields["cost"]), Decimal(fields["price"])
    return fields
