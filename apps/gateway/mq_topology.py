"""Where call messages travel on RabbitMQ: the call queue, its retry queue (whose per-message
TTL dead-letters back into the call queue), the dead-letter queue, the call-events exchange."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from kombu import Connection, Exchange, Queue


@dataclass(frozen=True)
class Topology:
    exchange: Exchange
    queue: Queue
    retry: Queue
    dead: Queue
    events: Exchange

    @classmethod
    def from_settings(cls) -> Topology:
        exchange = Exchange(settings.GATEWAY_MQ_EXCHANGE, "direct", durable=True)
        name = settings.GATEWAY_MQ_QUEUE
        return cls(
            exchange=exchange,
            queue=Queue(name, exchange, routing_key=name, durable=True),
            retry=Queue(
                f"{name}.retry",
                exchange,
                routing_key=f"{name}.retry",
                durable=True,
                queue_arguments={
                    "x-dead-letter-exchange": exchange.name,
                    "x-dead-letter-routing-key": name,
                },
            ),
            dead=Queue(
                settings.GATEWAY_MQ_DEAD_LETTER_QUEUE,
                exchange,
                routing_key=settings.GATEWAY_MQ_DEAD_LETTER_QUEUE,
                durable=True,
            ),
            events=Exchange(settings.GATEWAY_CALL_EVENTS_EXCHANGE, "topic", durable=True),
        )

    def declare(self, connection: Connection) -> None:
        channel = connection.default_channel
        for queue in (self.queue, self.retry, self.dead):
            queue.bind(channel).declare()
        if settings.GATEWAY_CALL_EVENTS_ENABLED:
            self.events.bind(channel).declare()


def mq_connection() -> Connection:
    # Publisher confirms: a publish returns once the broker has the message, so the message
    # that caused it may then be acknowledged.
    return Connection(settings.GATEWAY_MQ_URL, transport_options={"confirm_publish": True})
