"""Calls that arrive as messages on RabbitMQ (the original system's MQ handler).

A message is JSON: {"service", "method", "payload", "client", "idempotency_key"?,
"reply_to"?}. Internal services put work here instead of calling HTTP: the queue is trusted,
so the message names its client (by slug) instead of carrying a key. Each message runs as a
call through the one pipeline (channel `mq`), and is acknowledged only once its outcome is
durable (its ledger row committed, and whatever it published confirmed by the broker):

- malformed messages, unknown clients and unknown methods go to the dead-letter queue, the
  reason in the `x-gateway-dead-reason` header;
- a provider fault (502, 503, 504) or a limit (409, 429) is delivered again after a backoff
  (through a retry queue whose per-message TTL dead-letters back into the call queue), up to
  GATEWAY_MQ_MAX_DELIVERIES deliveries, then dead-lettered;
- the answer (the body an HTTP call would get, plus `http_status`) goes to `reply_to` with the
  message's correlation id. Call events, when enabled, are published by the pipeline for
  every channel (apps.gateway.events).
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from kombu import Connection, Message, Producer

from apps.accounts.authentication import Principal
from apps.accounts.models import Client
from apps.core import jsonbytes, state
from apps.core.log_context import call_logged, call_status
from apps.core.middleware import request_id_tame
from apps.gateway.mq_topology import Topology, mq_connection
from apps.gateway.pipeline import handle_call
from apps.gateway.stages import GatewayRequest, GatewayResponse
from apps.ledger.models import LedgerEntry
from apps.observability.tracing import carrier_of, trace_context
from apps.routing.http import close_http_client

logger = logging.getLogger(__name__)

__all__ = ["DEAD_REASON", "CallConsumer", "DeadLetter", "Topology", "mq_connection", "run_command"]

DEAD_REASON = "x-gateway-dead-reason"
DELIVERIES = "x-gateway-deliveries"
REQUEST_ID = "x-gateway-request-id"
RETRY_STATUSES = {409, 429, 502, 503, 504}


class DeadLetter(Exception):
    """The message cannot become a call; it goes to the dead-letter queue with this reason."""


class CallConsumer:
    """Consumes the call queue; `run(max_messages=..., idle_timeout=...)` for bounded runs."""

    def __init__(self, connection: Connection, topology: Topology | None = None) -> None:
        self.connection = connection
        self.topology = topology or Topology.from_settings()
        self.producer = Producer(connection.default_channel)
        self.handled = 0

    def run(self, *, max_messages: int | None = None, idle_timeout: float | None = None) -> int:
        """Consume until max_messages were handled, or nothing came for idle_timeout seconds."""
        self.topology.declare(self.connection)
        with self.connection.Consumer(
            [self.topology.queue], on_message=self.on_message, prefetch_count=1
        ):
            while max_messages is None or self.handled < max_messages:
                try:
                    self.connection.drain_events(timeout=idle_timeout)
                except TimeoutError:
                    break
        return self.handled

    def on_message(self, message: Message) -> None:
        headers = dict(message.headers or {})
        request_id = _request_id_of(
            str(headers.get(REQUEST_ID) or message.properties.get("correlation_id") or "")
        )
        # The message's records carry its request id, and its call gets one access record;
        # its call's span continues the producer's trace (a traceparent header), if any.
        with (
            call_logged(request_id, channel=LedgerEntry.Channel.MQ),
            trace_context(carrier_of(headers)),
        ):
            self._handle(message, headers, request_id)

    def _handle(self, message: Message, headers: dict[str, Any], request_id: str) -> None:
        deliveries = int(headers.get(DELIVERIES, 0)) + 1
        reply_to = ""
        try:
            command = parse_command(message.body)
            reply_to = command.get("reply_to") or ""
            response = run_command(command, request_id=request_id)
            call_status(response.status)
            if response.status == 404:
                raise DeadLetter(f"unknown method: {response.body.get('detail', '')}")
            if response.status == 400:
                errors = response.body.get("errors")
                if errors:
                    raise DeadLetter(f"invalid payload: {json.dumps(errors)}")
                raise DeadLetter(f"invalid call: {response.body.get('detail', '')}")
            if response.status in RETRY_STATUSES:
                if deliveries < settings.GATEWAY_MQ_MAX_DELIVERIES:
                    self._retry(
                        message,
                        headers,
                        deliveries=deliveries,
                        request_id=request_id,
                        response=response,
                    )
                    self._done(message)
                    return
                raise DeadLetter(
                    f"gave up after {deliveries} deliveries: HTTP {response.status} "
                    f"{response.body.get('detail', '')}"
                )
            self._reply(reply_to, message, response)
        except DeadLetter as dead:
            self._dead_letter(message, headers, str(dead), request_id)
            if reply_to and "response" in locals():
                self._reply(reply_to, message, response)
        self._done(message)

    def _done(self, message: Message) -> None:
        message.ack()
        self.handled += 1

    def _publish(self, body: Any, **kwargs: Any) -> None:
        self.producer.publish(body, serializer="json", delivery_mode=2, retry=True, **kwargs)

    def _retry(
        self,
        message: Message,
        headers: dict[str, Any],
        *,
        deliveries: int,
        request_id: str,
        response: GatewayResponse,
    ) -> None:
        ceiling = settings.GATEWAY_MQ_RETRY_BACKOFF_S * 2 ** (deliveries - 1)
        delay_s = ceiling / 2 + random.uniform(0, ceiling / 2)
        retry_after = response.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            delay_s = max(delay_s, float(retry_after))
        logger.info(
            "message %s: HTTP %s, delivered again in %.1f s", request_id, response.status, delay_s
        )
        self.producer.publish(
            message.body,
            exchange=self.topology.exchange,
            routing_key=self.topology.retry.routing_key,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers={**headers, DELIVERIES: deliveries, REQUEST_ID: request_id},
            correlation_id=message.properties.get("correlation_id"),
            expiration=delay_s,
            delivery_mode=2,
            retry=True,
        )

    def _dead_letter(
        self, message: Message, headers: dict[str, Any], reason: str, request_id: str
    ) -> None:
        logger.warning("message %s dead-lettered: %s", request_id, reason)
        self.producer.publish(
            message.body,
            exchange=self.topology.exchange,
            routing_key=self.topology.dead.routing_key,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            headers={**headers, DEAD_REASON: reason[:1000], REQUEST_ID: request_id},
            correlation_id=message.properties.get("correlation_id"),
            delivery_mode=2,
            retry=True,
        )

    def _reply(self, reply_to: str, message: Message, response: GatewayResponse) -> None:
        if not reply_to:
            return
        self._publish(
            {**json.loads(response.render()), "http_status": response.status},
            exchange="",
            routing_key=reply_to,
            correlation_id=message.properties.get("correlation_id"),
        )


_FIELDS = {"service", "method", "payload", "client", "idempotency_key", "reply_to"}


def parse_command(body: bytes | str) -> dict[str, Any]:
    """The message as a call command; DeadLetter when it is not one."""
    if len(body) > settings.GATEWAY_MAX_BODY_BYTES:
        raise DeadLetter(f"too large: over {settings.GATEWAY_MAX_BODY_BYTES} bytes")
    try:
        # Depth-checked: json's RecursionError would crash the consumer and, the message
        # never acknowledged, crash it again on every redelivery.
        command = jsonbytes.loads_untrusted(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DeadLetter(f"malformed: the body is not JSON ({exc})") from exc
    if not isinstance(command, dict):
        raise DeadLetter("malformed: the body must be a JSON object")
    unknown = sorted(set(command) - _FIELDS)
    if unknown:
        raise DeadLetter(f"malformed: unknown fields {', '.join(unknown)}")
    for name in ("service", "method", "client"):
        if not isinstance(command.get(name), str) or not command[name]:
            raise DeadLetter(f"malformed: '{name}' must be a non-empty string")
    if not isinstance(command.get("payload", {}), dict):
        raise DeadLetter("malformed: 'payload' must be a JSON object")
    for name in ("idempotency_key", "reply_to"):
        if command.get(name) is not None and not isinstance(command[name], str):
            raise DeadLetter(f"malformed: '{name}' must be a string")
    return command


def _request_id_of(sent: str) -> str:
    """The producer's id when it is tame (as an HTTP X-Request-ID must be), else one derived
    from it: the same message delivered again gets the same id, and no newline or
    unbounded text reaches a log line, a span or the ledger."""
    if not sent:
        return str(uuid.uuid4())
    if request_id_tame(sent):
        return sent
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "gateway-mq:" + sent))


def run_command(command: dict[str, Any], *, request_id: str) -> GatewayResponse:
    """Run one command as a call through the pipeline (channel mq)."""
    client = Client.objects.filter(slug=command["client"]).first()
    if client is None:
        raise DeadLetter(f"unknown client {command['client']!r}")
    if not client.is_active:
        raise DeadLetter(f"client {client.slug} is suspended")
    headers = {}
    if command.get("idempotency_key"):
        headers["Idempotency-Key"] = command["idempotency_key"]
    request = GatewayRequest(
        request_id=request_id,
        service=command["service"],
        method=command["method"],
        body=json.dumps(command.get("payload", {})).encode(),
        headers=headers,
        channel=LedgerEntry.Channel.MQ,
        principal=Principal.for_client(client, key_id=None),
    )
    return async_to_sync(_handle, force_new_loop=True)(request)


async def _handle(request: GatewayRequest) -> GatewayResponse:
    try:
        return await handle_call(request)
    finally:
        await state.close_async_client()
        await close_http_client()
