"""docs.html_to_pdf through the ASGI call endpoint production serves: the PDF goes out in
64 KiB body messages, the last one closing the body; errors stay problem+json."""

import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from apps.catalog.documents import CHUNK_BYTES
from apps.ledger.models import LedgerEntry
from gateway_project.asgi import application
from tests.integrations.docs.conftest import HTML_TO_PDF
from tests.support.asgi import asgi_post

# Fake vendors listen on 127.0.0.1: let the egress policy allow loopback here.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("egress_private")]

# Enough text for a PDF of several chunks.
LONG_HTML = "".join(
    f"<h2>Chapter {n}</h2><p>{'All work and no play. ' * 400}</p>" for n in range(40)
)


async def test_a_large_pdf_is_streamed_in_chunks(writer, weasyprint_only):
    messages = await asgi_post(
        HTML_TO_PDF, {"html": LONG_HTML, "page_size": "Letter"}, writer.headers
    )

    start, bodies = messages[0], messages[1:]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    pdf = b"".join(m["body"] for m in bodies)
    assert start["status"] == 200
    assert pdf.startswith(b"%PDF-")
    assert headers["content-length"] == str(len(pdf))
    assert headers["content-type"] == "application/pdf"
    assert headers["x-provider"] == "weasyprint"
    assert headers["x-price"] == "0.0200"
    assert headers["content-disposition"] == f'attachment; filename="{headers["x-request-id"]}.pdf"'
    assert len(bodies) == -(-len(pdf) // CHUNK_BYTES) > 1
    assert all(len(m["body"]) == CHUNK_BYTES for m in bodies[:-1])
    assert [m["more_body"] for m in bodies] == [True] * (len(bodies) - 1) + [False]
    entry = await database_sync_to_async(LedgerEntry.objects.get)()
    assert (entry.request_id, entry.provider, entry.price) == (
        headers["x-request-id"],
        "weasyprint",
        Decimal("0.0200"),
    )


async def test_a_bad_payload_is_a_problem_in_one_message(writer, weasyprint_only):
    messages = await asgi_post(HTML_TO_PDF, {"html": "<p>x</p>", "page_size": "B5"}, writer.headers)

    start, body = messages
    headers = dict(start["headers"])
    assert (start["status"], headers[b"content-type"]) == (400, b"application/problem+json")
    assert list(json.loads(body["body"])["errors"]) == ["page_size"]


async def test_a_websocket_call_is_refused_and_not_charged(writer, weasyprint_only):
    socket = WebsocketCommunicator(
        application, "/ws/calls/", headers=[(b"authorization", f"Api-Key {writer.key}".encode())]
    )
    assert (await socket.connect())[0]

    await socket.send_json_to(
        {"service": "docs", "method": "html_to_pdf", "payload": {"html": "<p>x</p>"}}
    )
    answer = await socket.receive_json_from(timeout=10)
    await socket.disconnect()

    assert answer["http_status"] == 400
    assert "ws channel" in answer["detail"]
    entry = await database_sync_to_async(LedgerEntry.objects.get)()
    assert (entry.channel, entry.status, entry.price) == ("ws", "rejected", Decimal("0"))
