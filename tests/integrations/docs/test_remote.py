"""docs.remote: the exact request the document service gets, its streamed answer, its errors."""

import json

import httpx
import pytest

from apps.catalog.documents import Document
from apps.catalog.providers import InvalidInput, ProviderFault
from apps.integrations.docs.providers.remote import RemoteDocs
from tests.integrations.docs.conftest import INVOICE
from tests.integrations.docs.vendor_answers import (
    SERVICE_PDF,
    SERVICE_REFUSED,
    SERVICE_UNAVAILABLE,
)

ENDPOINT = f"{RemoteDocs.default_base_url}/htmltopdf/"


class Chunks(httpx.AsyncByteStream):
    """A body that arrives in pieces, as a streamed upstream answer does; it may break off."""

    def __init__(self, *pieces: bytes, then: Exception | None = None) -> None:
        self.pieces, self.then = pieces, then

    async def __aiter__(self):
        for piece in self.pieces:
            yield piece
        if self.then is not None:
            raise self.then


def pdf_answer(*pieces: bytes, **headers: str) -> httpx.Response:
    return httpx.Response(
        200, headers={"Content-Type": "application/pdf", **headers}, stream=Chunks(*pieces)
    )


async def test_the_document_is_posted_as_json_and_the_pdf_read_in_chunks(adapter, call, service):
    route = service.post(ENDPOINT).mock(
        return_value=pdf_answer(SERVICE_PDF[:40], SERVICE_PDF[40:120], SERVICE_PDF[120:])
    )

    result = await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    request = route.calls.last.request
    assert (request.method, request.headers["Content-Type"]) == ("POST", "application/json")
    assert json.loads(request.content) == INVOICE
    document = result["document"]
    assert isinstance(document, Document)
    assert (document.media_type, document.size) == ("application/pdf", len(SERVICE_PDF))
    assert b"".join(document.chunks(64)) == SERVICE_PDF
    document.close()


async def test_without_css_none_is_sent_and_the_page_size_defaults_to_a4(adapter, call, service):
    route = service.post(ENDPOINT).mock(return_value=pdf_answer(SERVICE_PDF))

    (await call(adapter(RemoteDocs), "html_to_pdf", {"html": "<p>x</p>"}))["document"].close()

    assert json.loads(route.calls.last.request.content) == {"html": "<p>x</p>", "page_size": "A4"}


async def test_a_4xx_is_the_documents_fault_with_the_services_reason(adapter, call, service):
    service.post(ENDPOINT).respond(
        422, json=SERVICE_REFUSED, headers={"Content-Type": "application/problem+json"}
    )

    with pytest.raises(InvalidInput) as refused:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert refused.value.errors == {"html": [SERVICE_REFUSED["detail"]]}
    assert SERVICE_REFUSED["detail"] in refused.value.detail


async def test_a_plain_text_4xx_gives_its_text(adapter, call, service):
    service.post(ENDPOINT).respond(400, text="page_size Tabloid is not supported")

    with pytest.raises(InvalidInput) as refused:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert refused.value.errors == {"html": ["page_size Tabloid is not supported"]}


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (httpx.Response(503, json=SERVICE_UNAVAILABLE), "http_error"),
        (httpx.Response(429, headers={"Retry-After": "5"}), "quota_exceeded"),
        (
            httpx.Response(200, headers={"Content-Type": "text/html"}, text="<h1>Oops</h1>"),
            "malformed",
        ),
        (pdf_answer(b"<html>not a pdf</html>"), "malformed"),
        (httpx.Response(302, headers={"Location": "/login"}), "http_error"),
    ],
)
async def test_answers_that_are_no_pdf_are_faults(adapter, call, service, answer, outcome):
    service.post(ENDPOINT).mock(return_value=answer)

    with pytest.raises(ProviderFault) as fault:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert fault.value.outcome == outcome


async def test_a_connection_broken_mid_document_is_a_fault(adapter, call, service):
    broken = httpx.Response(
        200,
        headers={"Content-Type": "application/pdf"},
        stream=Chunks(SERVICE_PDF[:50], then=httpx.RemoteProtocolError("peer closed")),
    )
    service.post(ENDPOINT).mock(return_value=broken)

    with pytest.raises(ProviderFault) as fault:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert (fault.value.outcome, fault.value.sent) == ("connection_error", True)


async def test_a_refused_connection_is_a_fault_before_sending(adapter, call, service):
    service.post(ENDPOINT).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(ProviderFault) as fault:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert (fault.value.outcome, fault.value.sent) == ("connection_error", False)


@pytest.mark.parametrize("declared", [True, False])
async def test_a_pdf_over_the_limit_is_refused_clearly(adapter, call, service, settings, declared):
    settings.GATEWAY_DOCS_MAX_PDF_BYTES = 100
    headers = {"Content-Length": str(len(SERVICE_PDF))} if declared else {}
    service.post(ENDPOINT).mock(
        return_value=pdf_answer(SERVICE_PDF[:60], SERVICE_PDF[60:], **headers)
    )

    with pytest.raises(InvalidInput) as refused:
        await call(adapter(RemoteDocs), "html_to_pdf", INVOICE)

    assert refused.value.errors == {
        "html": ["The PDF would be larger than 100 bytes (GATEWAY_DOCS_MAX_PDF_BYTES)."]
    }


async def test_the_health_probe_renders_a_line(adapter, service):
    route = service.post(ENDPOINT).mock(return_value=pdf_answer(SERVICE_PDF))

    await adapter(RemoteDocs).probe()

    assert json.loads(route.calls.last.request.content)["html"] == "<p>health check</p>"
