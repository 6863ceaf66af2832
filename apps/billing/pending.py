"""Calls served by a provider whose ledger row is still to be written (a settle pending).

When the database goes away after a provider served a call, the call's outcome is handed to
the task `gateway.settle_pending` (apps.gateway.settle), which writes it once the database is
back. Until then nothing in the database says the call was served: its hold and its
IN_FLIGHT Idempotency-Key look like those of a process that died. This mark, kept outside
the database (Redis, or this process's memory in the embedded run), says otherwise, and two
rules respect it:

- idempotency_begin does not take over the key of a call whose settle is pending (the retry
  gets 409 and never reaches the provider);
- the release of dangling holds skips the hold of a call whose settle is pending (the settle
  charges it; releasing it would record the call as interrupted and unbilled).

The mark is set before the hand-off and removed once the row is committed.
"""

from __future__ import annotations

import logging
import threading

from apps.core import state

logger = logging.getLogger(__name__)

# Longer than any outage we would wait out; the task's retries stop long before.
MARK_TTL_S = 7 * 24 * 3600

_marks: set[str] = set()  # the embedded run (no Redis): one process, so memory suffices
_lock = threading.Lock()


def _key(client_id: int, request_id: str) -> str:
    return f"{state.KEY_PREFIX}settle-pending:{client_id}:{request_id}"


def settle_pending_mark(*, client_id: int, request_id: str) -> None:
    """Mark the call's settle pending. Raises if Redis cannot take the mark."""
    key = _key(client_id, request_id)
    if not state.uses_redis():
        with _lock:
            _marks.add(key)
        return
    state.sync_client().set(key, "1", ex=MARK_TTL_S)


def settle_pending_unmark(*, client_id: int, request_id: str) -> None:
    """The call's row is committed: its key and hold follow the usual rules again."""
    key = _key(client_id, request_id)
    if not state.uses_redis():
        with _lock:
            _marks.discard(key)
        return
    try:
        state.sync_client().delete(key)
    except state.REDIS_ERRORS:
        # Harmless: the row exists, so the key is completed and the hold is gone; the mark
        # only delays nothing and expires by itself.
        logger.warning("could not remove the settle-pending mark of %s", request_id)


def settle_pending_marked(*, client_id: int, request_id: str) -> bool:
    """Whether the call's settle may still be pending.

    When Redis cannot be asked, the answer is True: refusing a takeover or a release for a
    while is safe, allowing one could call a provider twice or leave a served call unbilled.
    """
    key = _key(client_id, request_id)
    if not state.uses_redis():
        with _lock:
            return key in _marks
    try:
        return bool(state.sync_client().exists(key))
    except state.REDIS_ERRORS:
        logger.warning("could not read the settle-pending mark of %s; assuming it", request_id)
        return True
