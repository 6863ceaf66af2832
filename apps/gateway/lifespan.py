"""The ASGI lifespan of a server process: at shutdown, close what its event loop opened.

A worker that stops (a deploy, a restart) closes its call pool's PostgreSQL connections
(apps.core.asyncdb), its provider HTTP connections and its Redis connections, instead of
leaving each server to notice a vanished client. Closing the Redis client first writes what
was queued for it: the breakers' record of the last successes (apps.routing.breaker_batch).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from apps.core import state
from apps.core.asyncdb import close_db_pool
from apps.routing.http import close_http_client

logger = logging.getLogger(__name__)

Message = MutableMapping[str, Any]


async def lifespan(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            try:
                await close_db_pool()
                await close_http_client()
                await state.close_async_client()
            except Exception:
                logger.exception("closing this process's connections at shutdown failed")
            await send({"type": "lifespan.shutdown.complete"})
            return
