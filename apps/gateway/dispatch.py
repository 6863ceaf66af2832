"""Sending a background call's task to the broker, off the request's path.

A call answered 202 is already stored, with its credit held; sending its task is all that is
left. That send must never hold the answer, nor the worker's one thread for database work
(sync_to_async is thread-sensitive: a publish blocked there stalls every synchronous call the
process serves). A broker that is down refuses at once, but one that hangs (paused, or a
network that drops packets) holds a publish for the connect timeout, once per retry.

So with a broker, the send runs on one daemon thread of the process, fed by a bounded queue.
Whatever is not sent (the broker refused, the queue was full, the process died first) stays
`pending` and the beat task `gateway.redispatch_stale_calls` sends it once it is stale. In
the embedded run (eager Celery) the task runs in line, before the 202, as docs/async.md says.
"""

import logging
import os
import queue
import threading
from typing import Any

from celery import current_app
from django.conf import settings

from apps.core.log_context import request_id_bound
from apps.observability.tracing import current_carrier, trace_context

logger = logging.getLogger(__name__)

# Tasks are sent by name: the modules that define them import the pipeline, which sends them.
RUN_ASYNC_CALL_TASK = "gateway.run_async_call"  # apps.gateway.tasks
DELIVER_CALLBACK_TASK = "realtime.deliver_callback"  # apps.realtime.tasks

# Sends waiting for a slow broker; past this, calls are left to the stale-call sweep.
BACKLOG_MAX = 1000

_sends: "queue.Queue[tuple[int, str, dict[str, str]]]" = queue.Queue(maxsize=BACKLOG_MAX)
_sender: threading.Thread | None = None
_sender_pid = 0
_sender_lock = threading.Lock()


def async_call_dispatch(*, call_id: int, request_id: str) -> None:
    """Send the task of a stored background call; never raises, never waits on the broker."""
    # The span that accepted the call, for the task's span to link to (taken here: the
    # sender thread does not see this context).
    trace_headers = current_carrier()
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _send(call_id, request_id, trace_headers)
        return
    _ensure_sender()
    try:
        _sends.put_nowait((call_id, request_id, trace_headers))
    except queue.Full:
        logger.error(
            "background call %s not sent: %s sends wait for the broker; the stale-call sweep "
            "sends it",
            request_id,
            BACKLOG_MAX,
        )


def task_send(name: str, *args: Any) -> None:
    """Send the task registered under `name` (its `delay`, so the embedded run, eager and
    without a broker, still runs it in line). A process that never imported the task's
    module registers it through Celery's autodiscovery, once."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    current_app.tasks[name].delay(*args)


def _send(call_id: int, request_id: str, trace_headers: dict[str, str]) -> None:
    try:
        # The task logs with the call's request id, and its span links to the accepting one.
        with request_id_bound(request_id), trace_context(trace_headers):
            task_send(RUN_ASYNC_CALL_TASK, call_id)
    except Exception:
        # The call is admitted and stored: it stays pending (its credit held) until the
        # stale-call sweep sends it again.
        logger.exception("could not send background call %s to the broker", request_id)


def _ensure_sender() -> None:
    global _sender, _sender_pid
    with _sender_lock:
        # A forked process (gunicorn's workers) does not inherit the parent's thread.
        if _sender is None or not _sender.is_alive() or _sender_pid != os.getpid():
            _sender = threading.Thread(target=_send_forever, name="broker-send", daemon=True)
            _sender_pid = os.getpid()
            _sender.start()


def _send_forever() -> None:
    while True:
        call_id, request_id, trace_headers = _sends.get()
        _send(call_id, request_id, trace_headers)
