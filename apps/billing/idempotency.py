"""Idempotency-Key, as in the IETF httpapi draft (and as Stripe and Adyen do it).

A call that sends a key (1-255 printable characters; `X-Idempotency-Key` is accepted too)
is registered under client x method x key before it is charged or routed; the unique
constraint decides which of two concurrent calls runs. While the first runs, a second gets
409; with another payload, 422; once it has finished, the stored answer (status, body with
the first request_id, headers) for 24 hours, with no second charge and no provider call.

The answer is stored in the transaction that writes the call's ledger row, so a charge is
never without its stored answer. A call that ended before anything happened (refused for
credit, no provider available) frees its key so that the retry runs. A key held by a
process that died is taken over once the call's deadline (plus a margin) has passed, but
never while the first call's credit hold is open or its settle is pending
(apps.billing.pending): that call may have been served, and a takeover would send it to a
provider a second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.billing.models import CreditHold, IdempotencyKey
from apps.billing.pending import settle_pending_marked
from apps.core.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, InvalidRequest

IDEMPOTENCY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")
KEEP_FOR = timedelta(hours=24)
LEASE_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class Replay:
    """The stored answer of the first call with this key."""

    request_id: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def idempotency_key_from(headers: Mapping[str, str]) -> str | None:
    """The call's Idempotency-Key, None when it sent none; InvalidRequest if malformed."""
    for name in IDEMPOTENCY_HEADERS:
        raw = headers.get(name)
        if raw is not None:
            break
    else:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]  # the draft's structured-field string form: "8e03978e-…"
    if not 1 <= len(key) <= 255 or not all(" " <= char <= "~" for char in key):
        raise InvalidRequest(f"{name} must be 1 to 255 printable ASCII characters.")
    return key


def payload_fingerprint(payload: Any) -> str:
    """SHA-256 of the payload's canonical JSON: key order and spacing do not matter."""
    canonical = json.dumps(
        payload, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_begin(
    *,
    client_id: int,
    method: str,
    key: str,
    payload_hash: str,
    request_id: str,
    lease: timedelta,
) -> int | Replay:
    """Register the call under its key (its record id), or return the stored answer.

    Raises IdempotencyKeyReused (422) for another payload, IdempotencyKeyInFlight (409)
    while the first call runs.
    """
    fresh = _fresh_fields(payload_hash=payload_hash, request_id=request_id)
    for _ in range(3):
        now = timezone.now()
        record_id = _insert(
            client_id=client_id, method=method, key=key, now=now, lease=lease, fresh=fresh
        )
        if record_id is not None:
            return record_id
        existing = IdempotencyKey.objects.filter(
            client_id=client_id, method=method, key=key
        ).first()
        if existing is None:
            continue  # purged meanwhile: try the insert again
        if _may_take_over(existing, now=now):
            if _take_over(existing, now=now, lease=lease, fresh=fresh):
                return existing.pk
            continue
        return _stored_answer(existing, method=method, key=key, payload_hash=payload_hash)
    raise IdempotencyKeyInFlight("Another call with this Idempotency-Key is starting; retry.")


def _fresh_fields(*, payload_hash: str, request_id: str) -> dict[str, Any]:
    """The fields of a record that a new call owns, whether inserted or taken over."""
    return {
        "payload_hash": payload_hash,
        "request_id": request_id,
        "state": IdempotencyKey.State.IN_FLIGHT,
        "response_status": None,
        "response_body": None,
        "response_headers": {},
    }


def _insert(
    *,
    client_id: int,
    method: str,
    key: str,
    now: datetime,
    lease: timedelta,
    fresh: dict[str, Any],
) -> int | None:
    """The new record's id; None when the key is already registered (the unique constraint)."""
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                client_id=client_id,
                method=method,
                key=key,
                created_at=now,
                locked_until=now + lease,
                **fresh,
            )
    except IntegrityError:
        return None
    return record.pk


def _may_take_over(existing: IdempotencyKey, *, now: datetime) -> bool:
    """Whether the record is past its 24 hours, or abandoned by a call that cannot be served."""
    expired = existing.created_at < now - KEEP_FOR
    abandoned = (
        existing.state == IdempotencyKey.State.IN_FLIGHT
        and existing.locked_until < now
        and not _first_call_may_be_served(existing)
    )
    return expired or abandoned


def _take_over(
    existing: IdempotencyKey, *, now: datetime, lease: timedelta, fresh: dict[str, Any]
) -> bool:
    """Take the record over; conditional on what was read, so one of several retries wins."""
    taken = IdempotencyKey.objects.filter(
        pk=existing.pk,
        created_at=existing.created_at,
        locked_until=existing.locked_until,
        state=existing.state,
    ).update(created_at=now, locked_until=now + lease, **fresh)
    return bool(taken)


def _stored_answer(existing: IdempotencyKey, *, method: str, key: str, payload_hash: str) -> Replay:
    """The first call's answer; 422 for another payload, 409 while the first call runs."""
    if existing.payload_hash != payload_hash:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for {method} with another payload "
            f"(by request {existing.request_id}); use a new key for a new call."
        )
    if existing.state == IdempotencyKey.State.IN_FLIGHT:
        raise IdempotencyKeyInFlight(
            f"The call {existing.request_id} with this Idempotency-Key is still running; "
            "retry later."
        )
    assert existing.response_status is not None and existing.response_body is not None
    return Replay(
        request_id=existing.request_id,
        status=existing.response_status,
        body=existing.response_body,
        headers=dict(existing.response_headers),
    )


def _first_call_may_be_served(existing: IdempotencyKey) -> bool:
    """Whether the first call, past its lease, may yet turn out served and charged.

    Its lease passing only says its process did not finish in time. While its credit hold is
    open (the dangling-hold release has not recorded it as interrupted) or its settle is
    pending (a provider served it while the database was away), taking the key over would
    send the call to a provider a second time.
    """
    hold_open = CreditHold.objects.filter(
        client_id=existing.client_id, request_id=existing.request_id
    ).exists()
    return hold_open or settle_pending_marked(
        client_id=existing.client_id, request_id=existing.request_id
    )


def idempotency_complete(
    *, record_id: int, status: int, body: dict[str, Any], headers: Mapping[str, str]
) -> None:
    """Store the call's answer. Call in the transaction that writes its ledger row."""
    IdempotencyKey.objects.filter(pk=record_id).update(
        state=IdempotencyKey.State.COMPLETED,
        response_status=status,
        response_body=json.loads(json.dumps(body, cls=DjangoJSONEncoder)),
        response_headers=dict(headers),
    )


def idempotency_release(*, record_id: int) -> None:
    """Free the key of a call that ended before anything happened, so a retry runs."""
    IdempotencyKey.objects.filter(pk=record_id, state=IdempotencyKey.State.IN_FLIGHT).delete()


def idempotency_keys_purge(*, now: Any = None) -> int:
    """Delete records older than 24 hours (their keys may be used afresh). How many went."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
