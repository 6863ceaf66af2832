"""When a request reached a provider but no answer came back, a method that is not
idempotent (an email, a purchase) must not be sent to a second provider: the first may have
acted on it. Nothing sent (refused, a bad URL) still fails over; idempotent methods always do.

The misbehaving providers are real sockets on this machine; the second provider answers in
its vendor's documented format (respx).
"""

import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
import respx

from apps.catalog.providers import CallContext
from apps.catalog.registry import registry
from apps.routing.executor import CallFailed, execute
from apps.routing.routes import MethodRoute, RoutingPolicy
from tests.integrations.currency.vendor_answers import OXR_LATEST
from tests.support.routing import OXR_URL, route_of

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = pytest.mark.usefixtures("egress_private")


@pytest.fixture
def hang_up_url() -> Iterator[str]:
    """A local server that reads the whole request, then closes without a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    requests: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                received = b""
                while b"\r\n\r\n" not in received:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                requests.append(received)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/api"
    stop.set()
    thread.join()
    server.close()
    assert requests, "the provider never received the request"


def route_with_first(base_url: str, *, idempotent: bool, deadline_ms: int = 5000) -> MethodRoute:
    """fixer at `base_url` first, Open Exchange Rates (answering) second."""
    spec = replace(registry.method("currency.latest_rates"), idempotent=idempotent)
    return MethodRoute(
        key="currency.latest_rates",
        spec=spec,
        policy=RoutingPolicy(deadline_ms=deadline_ms),
        offerings=(
            route_of(
                "fixer",
                offering_id=1,
                priority=1,
                adapter="currency.fixer",
                base_url=base_url,
                timeout_ms=2000,
                credentials={"access_key": "fx"},
            ),
            route_of(
                "openexchangerates",
                offering_id=2,
                priority=2,
                adapter="currency.openexchangerates",
                base_url=OXR_URL,
                credentials={"app_id": "oxr"},
            ),
        ),
    )


CONTEXT = CallContext(request_id="r1", method="currency.latest_rates", client="acme", country="DE")


@pytest.fixture
def oxr() -> Iterator[respx.Route]:
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        router.route(scheme="ftp").pass_through()  # httpx itself refuses it
        yield router.get(f"{OXR_URL}/latest.json").respond(json=OXR_LATEST)


async def test_a_provider_that_hangs_up_after_the_request_is_not_failed_over_when_not_idempotent(
    hang_up_url, oxr
):
    # given a non-idempotent method whose first provider took the request and hung up
    route = route_with_first(hang_up_url, idempotent=False)

    # when
    with pytest.raises(CallFailed) as failed:
        await execute(route=route, payload={"base": "USD"}, context=CONTEXT)

    # then the client hears 502 with that attempt, and no second provider was asked
    assert failed.value.error.status == 502
    assert [(a.provider, a.outcome) for a in failed.value.attempts] == [
        ("fixer", "connection_error")
    ]
    assert failed.value.decision["outcome"] == "unknown"
    assert "unknown" in failed.value.decision["stopped"]
    assert not oxr.called


async def test_the_same_hang_up_fails_over_for_an_idempotent_method(hang_up_url, oxr):
    route = route_with_first(hang_up_url, idempotent=True)

    outcome = await execute(route=route, payload={"base": "USD"}, context=CONTEXT)

    assert outcome.offering.provider.slug == "openexchangerates"
    assert [a.outcome for a in outcome.attempts] == ["connection_error", "ok"]
    assert "outcome" not in outcome.decision


async def test_a_base_url_the_client_cannot_speak_sends_nothing_and_fails_over(oxr):
    # given ops mistyped the first provider's URL: no request can leave
    route = route_with_first("ftp://fixer.test/api", idempotent=False)

    # when
    outcome = await execute(route=route, payload={"base": "USD"}, context=CONTEXT)

    # then nothing reached fixer, so even an email may go to the next provider
    assert outcome.offering.provider.slug == "openexchangerates"
    assert [a.outcome for a in outcome.attempts] == ["connection_error", "ok"]
    assert oxr.called


async def test_a_deadline_that_cuts_a_non_idempotent_attempt_leaves_the_outcome_unknown(
    hanging_url, oxr
):
    # given the method's deadline is shorter than the provider's own timeout (2 s), and long
    # enough that the attempt starts even on a loaded machine (the Redis round trip before it
    # comes out of the same budget; at 300 ms a busy CI run once spent it all there)
    route = route_with_first(hanging_url, idempotent=False, deadline_ms=1000)

    # when
    with pytest.raises(CallFailed) as failed:
        await execute(route=route, payload={"base": "USD"}, context=CONTEXT)

    # then 504, and the ledger's decision says the provider may have acted
    assert failed.value.error.status == 504
    assert failed.value.decision["outcome"] == "unknown"
    assert not oxr.called


async def test_a_deadline_on_an_idempotent_method_says_nothing_about_the_outcome(hanging_url, oxr):
    route = route_with_first(hanging_url, idempotent=True, deadline_ms=1000)

    with pytest.raises(CallFailed) as failed:
        await execute(route=route, payload={"base": "USD"}, context=CONTEXT)

    assert failed.value.error.status == 504
    assert "outcome" not in failed.value.decision
