"""A served call whose ledger row the database could not take: settled again within
GATEWAY_SETTLE_RETRY_BUDGET_S, else handed off (apps.gateway.settle) and answered
OutcomeUnknown (503), never a 200 without its row nor "failed and unbilled"."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import sync_to_async

from apps.core.db import connection_release
from apps.core.errors import OutcomeUnknown, database_unavailable
from apps.gateway.settle import (
    pending_settle,
    settle_hand_off,
    settle_pending_apply,
    settle_retrying,
)
from apps.gateway.stages import Admission, Admitted, GatewayResponse, SettleOnce

logger = logging.getLogger(__name__)


async def settle_served(
    call: Admission | Admitted,
    response: GatewayResponse,
    fields: dict[str, Any],
    *,
    on_recorded: tuple[str, dict[str, Any]] | None,
    failure: Exception,
) -> None:
    """Settle a served call whose first write failed with the database away.

    The first write may have committed before its connection went, so every retry goes
    through settle_pending_apply, which writes nothing when the call's row exists. Once this
    returns (or raises OutcomeUnknown), the settle owns the hold, the free call and the key.
    """
    run = call.run
    pending = pending_settle(
        fields=fields,
        hold=call.hold,
        response=response,
        idempotency_id=call.idempotency_id,
        on_recorded=on_recorded,
        async_call_id=run.async_call_id if run else None,
    )
    settle_once = run.settle_once if run else None
    try:
        await settle_retrying(
            lambda: sync_to_async(_settle_now)(pending, settle_once),
            request_id=call.request.request_id,
        )
    except Exception as exc:
        if database_unavailable(exc) is None:
            raise
        try:
            await settle_hand_off(pending, settle_once=settle_once)
        except Exception:
            logger.exception("could not hand off the settle of %s", call.request.request_id)
        raise OutcomeUnknown(
            f"The call was served by {fields['provider'] or 'the response cache'}, but the "
            "gateway could not record it yet; it will be recorded and charged once. Do not "
            "send it again under a new Idempotency-Key: a retry with the same key gets its "
            "answer once it is recorded.",
            headers={"Retry-After": "10"},
        ) from failure


def _settle_now(pending: dict[str, Any], settle_once: SettleOnce | None) -> bool:
    try:
        return settle_pending_apply(pending, settle_once=settle_once)
    finally:
        connection_release()
