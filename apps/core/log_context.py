"""What a log record knows about the call being served: its request id, and its access record.

The request id lives in a contextvar (apps.core.logging.request_id_var), set where it is
decided: the call endpoint (apps.gateway.asgi_calls) and RequestIdMiddleware for HTTP, the
queue consumer per message, and a Celery task from the `request_id` header that a task sent
while serving a call carries (gateway_project.celery). Outside a call it is unset: "-" in
the plain format, null in JSON.

An entry point opens `call_logged()` around one call; the pipeline notes the call's outcome
(`call_noted`, from the fields of its ledger row) and the entry writes one access record on
the `gateway.access` logger when the call is over: status, duration_ms, service, method,
provider, client, price (a decimal string), channel, outcome. Never a key, a credential or
a payload.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.core.logging import NO_REQUEST_ID, request_id_var
from apps.core.money import money_str

access_logger = logging.getLogger("gateway.access")


@dataclass
class CallLog:
    """The access record of one call, filled in as the call goes."""

    channel: str
    started: float
    status: int | None = None
    service: str | None = None
    method: str | None = None
    provider: str | None = None
    client: str | None = None
    price: Decimal | None = None
    outcome: str | None = None

    def fields(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "duration_ms": round((time.monotonic() - self.started) * 1000, 1),
            "service": self.service,
            "method": self.method,
            "provider": self.provider,
            "client": self.client,
            "price": None if self.price is None else money_str(self.price),
            "channel": self.channel,
            "outcome": self.outcome,
        }


_call_log: ContextVar[CallLog | None] = ContextVar("call_log", default=None)


def current_request_id() -> str | None:
    request_id = request_id_var.get()
    return None if request_id == NO_REQUEST_ID else request_id


@contextmanager
def request_id_bound(request_id: str | None) -> Iterator[None]:
    """Log with this request id inside the block (None or empty: leave it as it is)."""
    if not request_id:
        yield
        return
    token = request_id_var.set(request_id)
    try:
        yield
    finally:
        request_id_var.reset(token)


@contextmanager
def call_logged(
    request_id: str | None,
    *,
    channel: str,
    service: str | None = None,
    method: str | None = None,
) -> Iterator[CallLog]:
    """One call: its request id on every record inside, and its access record at the end.

    The entry sets `status` on the yielded log once it knows it (else the status noted by
    the pipeline is used; an exception that escapes is a 500). A call cancelled before it
    answered (the client hung up) is logged with a null status. `request_id` None: the one
    already set (a Celery task's, from its header) is kept.
    """
    log = CallLog(channel=channel, started=time.monotonic(), service=service, method=method)
    log_token = _call_log.set(log)
    # request_id_bound's work, inline: a second context manager per call cost ~3 us.
    id_token = request_id_var.set(request_id) if request_id else None
    try:
        try:
            yield log
        except Exception:
            log.status = 500
            raise
        finally:
            # The record is only built when it is written (not with LOG_LEVEL=WARNING).
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(_summary(log), extra=log.fields())
    finally:
        if id_token is not None:
            request_id_var.reset(id_token)
        _call_log.reset(log_token)


def call_noted(fields: Mapping[str, Any], *, client: str) -> None:
    """The call's outcome, from the fields of its ledger row, for its access record."""
    log = _call_log.get()
    if log is None:
        return
    log.service = fields.get("service") or log.service
    log.method = fields.get("method") or log.method
    log.provider = fields.get("provider") or None
    log.client = client
    log.price = fields.get("price")
    log.outcome = fields.get("status")
    if log.status is None:
        log.status = fields.get("http_status")


def call_status(status: int) -> None:
    """The status the call was answered with, when the entry learns it from a response."""
    log = _call_log.get()
    if log is not None:
        log.status = status


def _summary(log: CallLog) -> str:
    name = f"{log.service or '?'}.{log.method or '?'}"
    return f"{log.channel} call {name} {log.status if log.status is not None else '-'}"


REQUEST_ID_HEADER = "request_id"


def _request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _task_started(task: Any = None, **_: Any) -> None:
    context = getattr(task, "request", None)
    if context is None:
        return
    request_id = getattr(context, REQUEST_ID_HEADER, None) or (
        getattr(context, "headers", None) or {}
    ).get(REQUEST_ID_HEADER)
    if isinstance(request_id, str) and request_id:
        context.request_id_token = request_id_var.set(request_id)


def _task_finished(task: Any = None, **_: Any) -> None:
    token = getattr(getattr(task, "request", None), "request_id_token", None)
    if token is not None:
        task.request.request_id_token = None
        request_id_var.reset(token)


def connect_request_id_signals() -> None:
    """Celery: a task published inside a call gets its request id as a header; a worker
    running it logs with that id, and drops it when the task is over."""
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(_request_id_header, weak=False)
    task_prerun.connect(_task_started, weak=False)
    task_postrun.connect(_task_finished, weak=False)
