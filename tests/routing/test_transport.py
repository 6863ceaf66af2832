"""The aiohttp transport under httpx, against real local servers: what is sent is what httpx
built, answers come back as httpx's, and every failure keeps its meaning for failover."""

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from apps.catalog.providers import OUTCOME_CONNECTION, ProviderFault
from apps.routing.transport import AiohttpTransport

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = pytest.mark.usefixtures("egress_private")

Handler = Callable[[bytes, asyncio.StreamWriter], "asyncio.Future[None] | None"]


@pytest.fixture
async def server() -> AsyncIterator[Callable[..., object]]:
    """Starts a raw TCP server whose answer the test writes; returns (url, requests seen)."""
    servers: list[asyncio.Server] = []

    async def start(answer: bytes | None, *, close_without_answer: bool = False):
        seen: list[bytes] = []

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            seen.append(head + (await reader.readexactly(length) if length else b""))
            if not close_without_answer and answer is not None:
                writer.write(answer)
                await writer.drain()
            writer.close()

        srv = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(srv)
        return f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}", seen

    yield start
    for srv in servers:
        srv.close()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=10)) as http:
        yield http


def answer(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *headers, "", ""]
    return "\r\n".join(lines).encode() + body


async def test_the_request_arrives_as_httpx_built_it(server, client):
    url, seen = await server(answer("202 Accepted", b'{"ok": true}', "X-Id: 7"))

    response = await client.post(
        f"{url}/v3/mail/send",
        params={"q": "a b+c/d", "symbols": "USD,GBP"},
        headers={"Authorization": "Bearer k"},
        json={"to": "ada@example.org"},
    )

    assert (response.status_code, response.json(), response.headers["X-Id"]) == (
        202,
        {"ok": True},
        "7",
    )
    raw = seen[0]
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.decode().split("\r\n")
    assert request_line == "POST /v3/mail/send?q=a+b%2Bc%2Fd&symbols=USD%2CGBP HTTP/1.1"
    headers = dict(line.split(": ", 1) for line in header_lines)
    assert headers["Authorization"] == "Bearer k"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(body))
    assert body == b'{"to":"ada@example.org"}'
    assert [h.lower() for h in headers].count("user-agent") == 1  # httpx's, not aiohttp's too


async def test_a_compressed_answer_is_decoded_once_by_httpx(server, client):
    packed = gzip.compress(b'{"rates": {"USD": 1.1}}')
    url, _ = await server(answer("200 OK", packed, "Content-Encoding: gzip"))

    response = await client.get(f"{url}/latest")

    assert response.json() == {"rates": {"USD": 1.1}}


async def test_a_body_can_be_read_in_chunks(server, client):
    body = b"%PDF-" + b"x" * 300_000
    url, _ = await server(answer("200 OK", body, "Content-Type: application/pdf"))

    async with client.stream("POST", f"{url}/htmltopdf/", json={}) as response:
        chunks = [chunk async for chunk in response.aiter_bytes()]

    assert b"".join(chunks) == body


async def test_a_hang_up_after_the_request_is_a_protocol_error_not_a_connect_error(server, client):
    url, seen = await server(None, close_without_answer=True)

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post(f"{url}/email", json={})
    assert seen  # the request had gone out: an email may have been sent


async def test_an_answer_that_is_not_http_is_a_protocol_error(server, client):
    url, _ = await server(b"SSH-2.0-OpenSSH_9.2\r\n")

    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(f"{url}/latest")


async def test_a_refused_connection_is_a_connect_error(refused_url, client):
    with pytest.raises(httpx.ConnectError):
        await client.get(f"{refused_url}/latest")


async def test_a_server_that_never_answers_is_a_read_timeout(hanging_url, client):
    with pytest.raises(httpx.ReadTimeout):
        await client.get(f"{hanging_url}/latest", timeout=0.2)


async def test_a_url_it_cannot_speak_is_unsupported(client):
    with pytest.raises(httpx.UnsupportedProtocol):
        await client.get("ftp://fixer.test/api/latest")


async def test_the_adapters_classify_them_as_before(server, refused_url, hanging_url):
    """What ProviderAdapter.send makes of each: only a connect failure says nothing was sent."""
    from apps.catalog.providers import ProviderAdapter, ProviderConfig

    hang_up, _ = await server(None, close_without_answer=True)
    async with httpx.AsyncClient(transport=AiohttpTransport(max_connections=10)) as http:

        async def fault(base_url: str) -> ProviderFault:
            config = ProviderConfig("p", "x.y", base_url, timeout_ms=200)
            with pytest.raises(ProviderFault) as raised:
                await ProviderAdapter(config, http).send("POST", "/send", json={})
            return raised.value

        refused, hung, timed_out = (
            await fault(refused_url),
            await fault(hang_up),
            await fault(hanging_url),
        )
    assert (refused.outcome, refused.sent) == (OUTCOME_CONNECTION, False)
    assert (hung.outcome, hung.sent) == (OUTCOME_CONNECTION, True)
    assert (timed_out.outcome, timed_out.sent) == ("timeout", True)
