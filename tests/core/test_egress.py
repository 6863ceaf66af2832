"""The egress policy: no destination a client or ops choose may be inside the network.

Real listeners on loopback show that a refused connection never reaches them; the ranges no
test can listen on are checked as the resolver and the socket factory see them.
"""

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from apps.core import egress
from apps.core.egress import EgressRefused, check_address, resolve, url_refusal
from apps.core.egress_http import AsyncEgressTransport, EgressTransport
from apps.routing.transport import AiohttpTransport
from tests.support.callbacks import LOOPBACK_SPELLINGS
from tests.support.servers import Listener

# Every spelling the OS resolver turns into 127.0.0.1 ("{port}" filled in per test).
# Some never get past httpx's or yarl's URL parser: refused either way, nothing is sent.
NOT_SENT = (httpx.HTTPError, httpx.InvalidURL)


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


@pytest.mark.parametrize(
    "url",
    [
        *[u.format(port=80) for u in LOOPBACK_SPELLINGS],
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://0/",
        "http://[::]/",
        "http://10.1.2.3/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fc00::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[::127.0.0.1]/",
        "http://metadata.localhost/",
    ],
)
def test_internal_destinations_are_refused_from_the_url_alone(url):
    assert url_refusal(url) is not None


@pytest.mark.parametrize("url", ["https://93.184.216.34/hook", "https://client.example/hook"])
def test_public_destinations_pass_the_url_check(url):
    assert url_refusal(url) is None


@pytest.mark.parametrize(
    "address",
    ["10.0.0.1", "172.31.255.255", "192.168.0.10", "169.254.169.254", "100.100.100.200",
     "fd00:ec2::254", "fe80::a9fe:a9fe", "::ffff:10.0.0.1", "192.0.0.170", "198.18.0.1"],
)  # fmt: skip
def test_private_ranges_are_refused_at_the_socket(address):
    with pytest.raises(EgressRefused):
        check_address(address)


def test_a_name_that_resolves_to_loopback_is_refused_before_any_connection():
    with pytest.raises(EgressRefused):
        resolve("localhost", 80)


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
async def test_provider_calls_over_aiohttp_never_reach_loopback(listener, spelling):
    # given the transport every provider call goes over (ops may set any base URL)
    transport = AiohttpTransport(max_connections=10)

    # when a request goes to the listener, spelled one way or another
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(NOT_SENT):
            await http.get(spelling.format(port=listener.port))

    # then nothing reached it
    assert listener.received == []


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
async def test_provider_calls_over_httpcore_never_reach_loopback(listener, spelling):
    async with httpx.AsyncClient(transport=AsyncEgressTransport()) as http:
        with pytest.raises(NOT_SENT):
            await http.get(spelling.format(port=listener.port))

    assert listener.received == []


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_synchronous_requests_never_reach_loopback(listener, spelling):
    with httpx.Client(transport=EgressTransport()) as http, pytest.raises(NOT_SENT):
        http.get(spelling.format(port=listener.port))

    assert listener.received == []


async def test_ipv6_loopback_is_refused_too():
    listener = Listener("::1")
    try:
        async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=10)) as http:
            with pytest.raises(httpx.ConnectError):
                await http.get(f"http://[::1]:{listener.port}/")
    finally:
        listener.close()

    assert listener.received == []


async def test_with_private_addresses_allowed_loopback_is_reached(listener, settings):
    # given the deployer's switch for local development
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True

    # when
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=10)) as http:
        response = await http.get(f"http://localhost:{listener.port}/")

    # then the request arrived
    assert response.status_code == 204
    assert listener.received[0].startswith(b"GET / HTTP/1.1")


@pytest.mark.parametrize("address", ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254"])
def test_cloud_metadata_stays_refused_even_with_private_addresses_allowed(settings, address):
    # given the development switch on
    settings.GATEWAY_EGRESS_ALLOW_PRIVATE = True

    # when / then link-local (cloud metadata) is still refused; by network only, deliberately
    assert egress.address_refusal(ipaddress.ip_address(address)) == "a link-local address"
    settings.GATEWAY_EGRESS_ALLOWED_NETWORKS = ["169.254.169.254/32", "fe80::/10"]
    assert egress.address_refusal(ipaddress.ip_address(address)) is None


def test_an_allowed_network_opens_only_that_network(listener, settings):
    # given the deployer allows 127.0.0.0/8 (say, a relay on the private network)
    settings.GATEWAY_EGRESS_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    # when
    with httpx.Client(transport=EgressTransport()) as http:
        response = http.get(f"http://127.0.0.1:{listener.port}/")

    # then that network is reached, and the rest stays closed
    assert response.status_code == 204
    with pytest.raises(EgressRefused):
        check_address("10.0.0.1")
