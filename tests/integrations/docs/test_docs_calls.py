"""docs.html_to_pdf end to end through the call endpoint (Django's test client): the PDF
streamed with the call's headers, failover, errors as problems, the ledger row."""

import json
from decimal import Decimal

import httpx
import pytest

from apps.accounts.models import Client
from apps.ledger.models import LedgerEntry
from tests.integrations.docs.conftest import HTML_TO_PDF, INVOICE, REMOTE_URL
from tests.integrations.docs.vendor_answers import (
    SERVICE_PDF,
    SERVICE_REFUSED,
    SERVICE_UNAVAILABLE,
)
from tests.support.calls import post

pytestmark = pytest.mark.django_db

ENDPOINT = f"{REMOTE_URL}/htmltopdf/"


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def balance(caller) -> tuple[Decimal, Decimal]:
    client = Client.objects.get(pk=caller.client.pk)
    return client.balance, client.held


def test_weasyprint_answers_the_pdf_with_the_calls_headers(api, writer, weasyprint_only):
    response = api.post(
        HTML_TO_PDF,
        json.dumps(INVOICE),
        content_type="application/json",
        headers={**writer.headers, "X-Request-ID": "invoice-42"},
    )

    assert response.status_code == 200
    pdf = body_of(response)
    assert pdf.startswith(b"%PDF-")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(pdf))
    assert response["Content-Disposition"] == 'attachment; filename="invoice-42.pdf"'
    assert (response["X-Request-ID"], response["X-Provider"], response["X-Price"]) == (
        "invoice-42",
        "weasyprint",
        "0.0200",
    )
    entry = LedgerEntry.objects.get()
    assert (entry.request_id, entry.service, entry.method, entry.status) == (
        "invoice-42",
        "docs",
        "html_to_pdf",
        "succeeded",
    )
    assert (entry.provider, entry.price, entry.http_status) == (
        "weasyprint",
        Decimal("0.0200"),
        200,
    )
    assert balance(writer) == (Decimal("-0.0200"), Decimal("0"))


def test_the_remote_service_streams_its_pdf_through(api, writer, remote_then_weasyprint, service):
    route = service.post(ENDPOINT).respond(
        200, content=SERVICE_PDF, headers={"Content-Type": "application/pdf"}
    )

    response = post(api, HTML_TO_PDF, INVOICE, writer)

    assert response.status_code == 200
    assert body_of(response) == SERVICE_PDF
    assert json.loads(route.calls.last.request.content) == INVOICE
    entry = LedgerEntry.objects.get()
    assert (entry.provider, entry.cost) == ("docs-remote", Decimal("0.0030"))


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, json=SERVICE_UNAVAILABLE),
        httpx.Response(200, headers={"Content-Type": "text/html"}, text="<h1>Login</h1>"),
    ],
)
def test_a_failing_remote_service_fails_over_to_weasyprint(
    api, writer, remote_then_weasyprint, service, answer
):
    service.post(ENDPOINT).mock(return_value=answer)

    response = post(api, HTML_TO_PDF, INVOICE, writer)

    assert response.status_code == 200
    assert body_of(response).startswith(b"%PDF-")
    assert response["X-Provider"] == "weasyprint"
    entry = LedgerEntry.objects.get()
    assert [a["provider"] for a in entry.attempts] == ["docs-remote", "weasyprint"]
    assert entry.attempts[1]["outcome"] == "ok"
    assert (entry.cost, entry.price) == (Decimal("0.0000"), Decimal("0.0200"))


def test_a_document_the_service_refuses_is_422_without_failover_or_charge(
    api, writer, remote_then_weasyprint, service
):
    service.post(ENDPOINT).respond(
        422, json=SERVICE_REFUSED, headers={"Content-Type": "application/problem+json"}
    )

    response = post(api, HTML_TO_PDF, INVOICE, writer)

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"] == {"html": [SERVICE_REFUSED["detail"]]}
    assert [a["provider"] for a in problem["attempts"]] == ["docs-remote"]
    entry = LedgerEntry.objects.get()
    assert (entry.status, entry.price) == ("failed", Decimal("0"))
    assert balance(writer) == (Decimal("0"), Decimal("0"))


def test_a_pdf_over_the_output_limit_is_422_and_not_charged(api, writer, weasyprint_only, settings):
    settings.GATEWAY_DOCS_MAX_PDF_BYTES = 3000

    response = post(api, HTML_TO_PDF, {"html": "<p>page</p>" * 3000}, writer)

    assert response.status_code == 422
    assert "GATEWAY_DOCS_MAX_PDF_BYTES" in response.json()["errors"]["html"][0]
    assert LedgerEntry.objects.get().price == Decimal("0")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"css": "p {}"}, "html"),
        ({"html": ""}, "html"),
        ({**INVOICE, "page_size": "Tabloid"}, "page_size"),
        ({**INVOICE, "html": "é" * 600}, "html"),  # 1200 UTF-8 bytes
        ({**INVOICE, "css": "p{}" * 100}, "css"),
        ({**INVOICE, "landscape": True}, "landscape"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, writer, weasyprint_only, settings, payload, field):
    settings.GATEWAY_DOCS_MAX_HTML_BYTES = 1000
    settings.GATEWAY_DOCS_MAX_CSS_BYTES = 200

    response = post(api, HTML_TO_PDF, payload, writer)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_largest_html_taken_is_the_limit_in_bytes(api, writer, weasyprint_only, settings):
    settings.GATEWAY_DOCS_MAX_HTML_BYTES = 1000

    response = post(api, HTML_TO_PDF, {"html": "<p>" + "x" * 993 + "</p>"}, writer)

    assert response.status_code == 200
    assert body_of(response).startswith(b"%PDF-")
