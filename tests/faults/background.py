"""Helpers of the fault tests that run background calls: the environment that points the
gateway and Celery at the private RabbitMQ, polling, and a callback receiver on loopback."""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import psycopg

from tests.faults.processes import Caller, Gateway
from tests.faults.services import PrivatePostgres, PrivateRabbit
from tests.support.servers import free_port
from tests.support.waiting import wait_until

T = TypeVar("T")
ASYNC = {"Prefer": "respond-async"}


def broker_env(rabbit: PrivateRabbit, **extra: str) -> dict[str, str]:
    """What the gateway, worker and beat of a test get: the private broker, no health-check
    probes of the fake vendor (they would count as its hits), and stale background calls
    sent again within seconds instead of minutes."""
    return {
        "CELERY_BROKER_URL": rabbit.url,
        "GATEWAY_HEALTH_CHECK_INTERVAL_S": "3600",
        "GATEWAY_ASYNC_STALE_AFTER_S": "1",
        "GATEWAY_ASYNC_REDISPATCH_INTERVAL_S": "1",
        **extra,
    }


# A service being started again refuses connections for a while: that counts as "not yet".
STILL_STARTING = (psycopg.OperationalError, httpx.TransportError)


def wait_for(check: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy; a database or gateway that is still
    starting counts as not yet."""
    return wait_until(check, timeout=timeout, what=what, interval=0.3, ignoring=STILL_STARTING)


def ledger_rows(postgres: PrivatePostgres, request_id: str) -> list[tuple[Any, ...]]:
    return postgres.query(
        "SELECT status, error_type, amount FROM ledger_ledgerentry WHERE request_id = %s"
        " ORDER BY id",
        request_id,
    )


def status_of(gateway: Gateway, caller: Caller, accepted: httpx.Response) -> dict[str, Any]:
    """What the 202's status URL answers the client now."""
    answer = httpx.get(
        f"{gateway.url}{accepted.json()['status_url']}", headers=caller.headers, timeout=10
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes


class CallbackReceiver:
    """A client's webhook endpoint on 127.0.0.1 that answers 204 and keeps every delivery."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/gateway"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
