"""The successes of many calls recorded together: one round trip for all that finished meanwhile.

A served call's last round trip was the record of its attempt (the END script). A plain
success (the provider answered; no probe lease involved) tells nobody anything they must know
at once: it moves the latency average, counts a call in the fault-rate window and resets the
consecutive faults. So it is queued on its event loop, and everything queued within
SUCCESS_BATCH_S is recorded by one END script, after the call has answered. Anything else (a
fault, a 429, a probe's outcome, a probe lease given back) is written at once, since a breaker
must open or close promptly, together with the successes queued before it, in their order.

A worker that dies with successes queued loses at most SUCCESS_BATCH_S of them: latency
samples, calls counted in the fault-rate window (which then reads a little high) and a reset of
the consecutive faults (a fault that follows may open a breaker one fault early). No answer
depends on them. An event loop that closes its Redis client writes its queue first
(state.close_async_client: the lifespan's shutdown, a Celery task's or a queue consumer's loop).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from apps.routing.breaker_rules import SUCCESS, AttemptRecord

logger = logging.getLogger(__name__)

# How long a success waits for others to share its round trip.
SUCCESS_BATCH_S = 0.005

Write = Callable[[Sequence[AttemptRecord]], Coroutine[Any, Any, None]]


class SuccessBatch:
    """Per event loop: the successes not yet written, and the writes under way."""

    def __init__(self, write: Write) -> None:
        self._write = write
        self._queued: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AttemptRecord]]
        self._queued = weakref.WeakKeyDictionary()
        self._writing: set[asyncio.Task[None]] = set()

    async def record(self, records: Sequence[AttemptRecord]) -> None:
        """Queue plain successes; write anything else at once, after what was queued."""
        loop = asyncio.get_running_loop()
        if all(r.kind == SUCCESS and not r.probe for r in records):
            queued = self._queued.get(loop)
            if queued is None:
                queued = self._queued[loop] = []
                loop.call_later(SUCCESS_BATCH_S, self._write_later, loop)
            queued.extend(records)
            return
        queued = self._queued.pop(loop, [])
        await self._under_way(loop)  # earlier successes land first, or they undo this fault
        await self._write([*queued, *records])

    async def flush(self) -> None:
        """Wait for this event loop's writes under way, then write what it has queued."""
        loop = asyncio.get_running_loop()
        queued = self._queued.pop(loop, None)
        await self._under_way(loop)
        if queued:
            await self._write(queued)

    async def _under_way(self, loop: asyncio.AbstractEventLoop) -> None:
        # A copy first: another thread's loop (a WSGI server's) may add or drop its own.
        writing = [task for task in list(self._writing) if task.get_loop() is loop]
        if writing:
            await asyncio.gather(*writing, return_exceptions=True)

    def clear(self) -> None:
        """Forget what is queued (tests)."""
        self._queued.clear()

    def _write_later(self, loop: asyncio.AbstractEventLoop) -> None:
        queued = self._queued.pop(loop, None)
        if not queued:
            return  # written meanwhile, with a fault
        task = loop.create_task(self._write(queued))
        self._writing.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("recording successes failed", exc_info=task.exception())
