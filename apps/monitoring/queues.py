"""Queue depths, read from the brokers at scrape time.

One passive `queue_declare` per queue (it creates nothing and answers the message count),
over a connection opened for the scrape with short timeouts. A broker that cannot be reached
gives no depth samples, only `gateway_broker_up 0`; the scrape as a whole waits at most
SOURCE_TIMEOUT_S for it (apps.monitoring.scrape).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from amqp.exceptions import NotFound
from celery import current_app as app  # the project's (gateway_project.celery)
from django.conf import settings
from kombu import Connection
from kombu.exceptions import ChannelError

logger = logging.getLogger(__name__)

# Each step of a probe (connect, read, write) gives up after this long.
STEP_TIMEOUT_S = 1.0

CELERY = "celery"  # the Celery broker: its default queue
MQ = "mq"  # the call queue of `manage.py consume_calls`, and its dead-letter queue


@dataclass(frozen=True)
class QueueDepth:
    broker: str
    queue: str
    messages: int
    dead_letter: bool = False


@dataclass
class BrokerReadings:
    up: dict[str, bool] = field(default_factory=dict)
    depths: list[QueueDepth] = field(default_factory=list)


def broker_queues() -> dict[str, tuple[str, list[tuple[str, bool]]]]:
    """{broker: (url, [(queue, is dead-letter)])} for each broker this deployment uses."""
    brokers: dict[str, tuple[str, list[tuple[str, bool]]]] = {}
    if not app.conf.task_always_eager and _is_remote(app.conf.broker_url):
        brokers[CELERY] = (app.conf.broker_url, [(app.conf.task_default_queue, False)])
    if _is_remote(settings.GATEWAY_MQ_URL):
        brokers[MQ] = (
            settings.GATEWAY_MQ_URL,
            [(settings.GATEWAY_MQ_QUEUE, False), (settings.GATEWAY_MQ_DEAD_LETTER_QUEUE, True)],
        )
    return brokers


def _is_remote(url: str | None) -> bool:
    return bool(url) and urlsplit(str(url)).scheme not in ("memory", "")


def read_broker(broker: str, url: str, queues: list[tuple[str, bool]]) -> list[QueueDepth] | None:
    """One broker's queue depths, None when it cannot be read (blocking: run on a thread)."""
    try:
        depths = queue_depths(url, [name for name, _ in queues])
    except Exception as exc:
        # The reason only: a library's text may hold the broker URL with its password.
        logger.warning("metrics: broker %s unreachable (%s)", broker, type(exc).__name__)
        return None
    return [QueueDepth(broker, name, depths[name], dead) for name, dead in queues]


def queue_depths(url: str, queues: list[str]) -> dict[str, int]:
    """{queue: messages ready} on the broker at `url`; a queue not declared yet holds 0."""
    with Connection(url, connect_timeout=STEP_TIMEOUT_S, transport_options=_options(url)) as conn:
        conn.ensure_connection(max_retries=0)  # one try: the next scrape is the retry
        depths: dict[str, int] = {}
        for name in queues:
            channel = conn.channel()
            try:
                depths[name] = channel.queue_declare(queue=name, passive=True).message_count
            except (NotFound, ChannelError) as exc:
                if getattr(exc, "code", 404) != 404:
                    raise
                depths[name] = 0
            finally:
                _close(channel)
        return depths


def _options(url: str) -> dict[str, float]:
    if urlsplit(url).scheme.startswith("redis") or urlsplit(url).scheme == "rediss":
        return {"socket_timeout": STEP_TIMEOUT_S, "socket_connect_timeout": STEP_TIMEOUT_S}
    return {"read_timeout": STEP_TIMEOUT_S, "write_timeout": STEP_TIMEOUT_S}


def _close(channel: object) -> None:
    # A channel the broker closed (a 404 does) is closed already.
    with contextlib.suppress(Exception):
        channel.close()  # type: ignore[attr-defined]
