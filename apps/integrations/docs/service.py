"""The documents service: HTML (and CSS) in, a PDF out, streamed to the client."""

from collections.abc import Callable

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.catalog.registry import MethodSpec, ServiceDefinition, registry
from apps.core.serializers import StrictCharField

PDF = "application/pdf"
# CSS page sizes (https://www.w3.org/TR/css-page-3/#page-size-prop) both providers know.
PAGE_SIZES = ("A4", "A3", "A5", "Letter", "Legal")


def _max_bytes(setting: str, field: str) -> Callable[[str], None]:
    """A validator reading its limit when it runs, so ops (and tests) can change it."""

    def check(value: str) -> None:
        limit = getattr(settings, setting)
        size = len(value.encode())
        if size > limit:
            raise serializers.ValidationError(
                f"The {field} is {size} bytes (UTF-8); at most {limit} are accepted ({setting})."
            )

    return check


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An invoice with its own stylesheet",
            value={
                "html": "<!doctype html><html><body><h1>Invoice INV-2026-0042</h1>"
                "<table><tr><td>Ceramic mug (2)</td><td>$59.80</td></tr>"
                "<tr><td>T-shirt (1)</td><td>$40.20</td></tr></table>"
                '<p class="total">Total due: $100.00</p></body></html>',
                "css": "body { font-family: sans-serif; } .total { font-weight: bold; }",
                "page_size": "A4",
            },
            request_only=True,
        ),
        OpenApiExample(
            "A letter, US paper",
            value={
                "html": "<html><body><p>Dear Ms Doe,</p><p>Thank you for your order.</p>"
                "</body></html>",
                "page_size": "Letter",
            },
            request_only=True,
        ),
    ]
)
class HtmlToPdfRequest(serializers.Serializer):
    html = StrictCharField(
        trim_whitespace=False,
        validators=[_max_bytes("GATEWAY_DOCS_MAX_HTML_BYTES", "HTML")],
        help_text=(
            "The document, as HTML. Images and fonts may be inline (data: URLs); the gateway "
            "fetches nothing the HTML points to (http:, https:, file: are ignored)."
        ),
    )
    css = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        validators=[_max_bytes("GATEWAY_DOCS_MAX_CSS_BYTES", "CSS")],
        help_text="A stylesheet applied after the HTML's own styles (it wins where both apply).",
    )
    page_size = serializers.ChoiceField(
        choices=PAGE_SIZES,
        default="A4",
        help_text="The paper size; it wins over an @page size in the HTML or CSS.",
    )


class PdfDocument(serializers.Serializer):
    """No JSON: a successful call answers the PDF itself (application/pdf)."""


@registry.service
class DocsService(ServiceDefinition):
    slug = "docs"
    name = "Documents"
    description = "Render HTML and CSS to PDF, with WeasyPrint or an internal document service."

    html_to_pdf = MethodSpec(
        request=HtmlToPdfRequest,
        response=PdfDocument,
        summary="Render HTML to a PDF",
        description=(
            "Answers the PDF itself (application/pdf, streamed, with a Content-Disposition), "
            "not the JSON envelope; errors are application/problem+json as for any call. The "
            "whole document is rendered before the answer starts, so a provider failing "
            "halfway is failed over and never charged. Only over synchronous HTTP: "
            "Prefer: respond-async, Idempotency-Key, the websocket and the message queue are "
            "refused with 400, since none of them can hand the PDF back."
        ),
        idempotent=True,  # rendering again elsewhere after a timeout sends nothing twice
        media_type=PDF,
    )
