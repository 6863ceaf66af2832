"""Two gateway nodes, one database and one Redis: what one node learns, the other acts on.

Each node is its own uvicorn server process on its own port, as two machines behind a load
balancer would be (docs/deployment.md). Calls are spread over both; rate limits,
suspensions, breakers and the weighted rotation live in PostgreSQL and Redis, not in a node.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client as HttpClient

from apps.accounts.models import Client
from apps.billing.models import PlanRateLimit
from apps.catalog.models import Offering, Provider
from apps.ledger.models import LedgerEntry
from tests.support.calls import Caller
from tests.support.routing import sandbox_catalog, set_policy
from tests.support.servers import wait_until_serving

LATEST = "/api/v1/services/currency/latest_rates/"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def node_env() -> dict[str, str]:
    """What every node shares: this test's database and Redis, the same secrets."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway_project.settings_test",
        "DATABASE_URL": (
            f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "REDIS_URL": settings.REDIS_URL,
        "DB_POOL_MIN_SIZE": "1",
        "DB_POOL_MAX_SIZE": "4",
        # The fake vendor of the breaker test listens on loopback.
        "GATEWAY_EGRESS_ALLOW_PRIVATE": "true",
    }


class Node:
    """One gateway node: a single-process uvicorn server on a free port."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.url = f"http://127.0.0.1:{free_port()}"
        self.log = log_dir / f"{name}.log"
        with self.log.open("w") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "gateway_project.asgi:application",
                    "--host=127.0.0.1",
                    f"--port={self.url.rsplit(':', 1)[1]}",
                    "--lifespan=off",
                    "--log-level=warning",
                    "--timeout-graceful-shutdown=5",
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, deadline: float) -> None:
        wait_until_serving(self.url, self.process, self.log, deadline=deadline, what=self.name)

    def call(self, caller: Caller) -> httpx.Response:
        return httpx.post(
            f"{self.url}{LATEST}", json={"base": "EUR"}, headers=caller.headers, timeout=15
        )

    def terminate(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)

    def wait_stopped(self) -> None:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def start_nodes(transactional_db: None, tmp_path: Path) -> Iterator[Any]:
    """Starts nodes "a" and "b" once the test has committed its catalog; returns both."""
    started: list[Node] = []

    def start() -> tuple[Node, Node]:
        env = node_env()
        started.extend(Node(name, env, tmp_path) for name in ("a", "b"))
        deadline = time.monotonic() + 40
        for node in started:
            node.wait_ready(deadline)
        return started[0], started[1]

    yield start
    for node in started:
        node.terminate()  # both at once: their graceful shutdowns overlap
    for node in started:
        node.wait_stopped()
        print(f"--- {node.name}\n{node.log.read_text()}")  # shown with a failing test's report


def test_a_plans_rate_limit_is_counted_over_both_nodes(start_nodes, caller, sandbox_only):
    # given a plan allowing 6 currency calls an hour, and two nodes
    PlanRateLimit.objects.create(plan=caller.client.plan, scope="currency", limit=6, window="hour")
    a, b = start_nodes()

    # when the client makes 12 calls, alternating between the nodes
    responses = [(a if i % 2 == 0 else b).call(caller) for i in range(12)]

    # then the 6 first are served (3 by each node) and every later one is refused: the
    # limit is the plan's 6 across the cluster, not 6 per node
    assert [r.status_code for r in responses] == [200] * 6 + [429] * 6
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in responses[:6]]
    assert remaining == [5, 4, 3, 2, 1, 0]
    assert {r.json()["type"] for r in responses[6:]} == {"/problems/rate-limited"}
    assert LedgerEntry.objects.filter(status="succeeded").count() == 6


def test_a_client_suspended_through_one_node_is_refused_by_the_other_at_once(
    start_nodes, caller, sandbox_only, admin_client: HttpClient
):
    # given both nodes have served the client, so both have its key cached
    a, b = start_nodes()
    assert (a.call(caller).status_code, b.call(caller).status_code) == (200, 200)

    # when ops suspend it with the admin's action (served here, on neither node)
    changelist = "/admin/accounts/client/"
    admin_client.post(
        changelist, {"action": "suspend_clients", "_selected_action": [caller.client.pk]}
    )
    assert Client.objects.get(pk=caller.client.pk).is_active is False

    # then the very next call, on either node, is refused: no cache expiry is waited for
    refused = b.call(caller)
    assert refused.status_code == 403
    assert "suspended" in refused.json()["detail"]
    assert a.call(caller).status_code == 403

    # and reactivated, it is served by both again
    admin_client.post(
        changelist, {"action": "reactivate_clients", "_selected_action": [caller.client.pk]}
    )
    assert (b.call(caller).status_code, a.call(caller).status_code) == (200, 200)


class FailingVendor:
    """A vendor on loopback that answers every request 500; `hits` counts them."""

    def __init__(self) -> None:
        self.hits = 0
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                vendor.hits += 1
                body = b'{"error": "internal"}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def failing_fixer(sandbox_only: Provider) -> Iterator[FailingVendor]:
    """fixer first (failing, breaker opens after 3 faults), the offline sandbox second."""
    vendor = FailingVendor()
    Provider.objects.filter(slug="fixer").update(
        enabled=True,
        base_url=vendor.url,
        breaker_failures=3,
        breaker_cooldown_s=300,
    )
    fixer = Provider.objects.get(slug="fixer")
    fixer.credentials = {"access_key": "cluster-key"}
    fixer.save()
    Offering.objects.filter(provider=fixer).update(priority=1)
    Offering.objects.filter(provider=sandbox_only).update(priority=2)
    yield vendor
    vendor.close()


def test_a_breaker_opened_by_faults_seen_on_one_node_is_open_on_the_other(
    start_nodes, caller, failing_fixer
):
    # given two nodes
    a, b = start_nodes()

    # when node a sees fixer fail three times (each call still served by the sandbox)
    first = [a.call(caller) for _ in range(3)]
    assert [(r.status_code, r.headers["X-Provider"]) for r in first] == [(200, "sandbox")] * 3
    assert failing_fixer.hits == 3

    # then node b, which never called fixer, skips it: its breaker is open cluster-wide
    later = [b.call(caller) for _ in range(3)]
    assert [(r.status_code, r.headers["X-Provider"]) for r in later] == [(200, "sandbox")] * 3
    assert failing_fixer.hits == 3
    last = LedgerEntry.objects.order_by("-id").first()
    assert last is not None
    assert last.routing["skipped"] == [{"provider": "fixer", "reason": "circuit_open"}]


def test_weighted_shares_are_one_rotation_across_both_nodes(start_nodes, caller):
    # given two providers weighted 3:1 (smooth weighted round robin: every 4 calls in a
    # row go 3 to alpha and 1 to beta), and two nodes
    sandbox_catalog({"alpha": {"weight": 3}, "beta": {"weight": 1}})
    set_policy("latest_rates", strategy="weighted")
    a, b = start_nodes()

    # when 24 calls are spread over the nodes two at a time (a, a, b, b, a, a, ...): a
    # counter per node would give each node's pair the head of its own rotation
    nodes = [a if (i // 2) % 2 == 0 else b for i in range(24)]
    responses = [node.call(caller) for node in nodes]
    assert {r.status_code for r in responses} == {200}
    picks = [r.headers["X-Provider"] for r in responses]

    # then the cluster follows one rotation: every 4 consecutive calls, whichever nodes
    # served them, split exactly 3:1, and so does the whole
    for start in range(0, 24, 4):
        assert Counter(picks[start : start + 4]) == {"alpha": 3, "beta": 1}, picks
    assert Counter(picks) == {"alpha": 18, "beta": 6}
