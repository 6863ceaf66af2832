"""What every html_to_pdf provider shares: the document it fills, and its health probe."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.catalog.documents import Document
from apps.catalog.providers import CallContext, InvalidInput, ProviderAdapter, provides
from apps.integrations.docs.service import PDF

PROBE_HTML = "<p>health check</p>"


def too_large(limit: int) -> InvalidInput:
    """The client's HTML makes a PDF larger than we hand out: its input, not a fault."""
    message = f"The PDF would be larger than {limit} bytes (GATEWAY_DOCS_MAX_PDF_BYTES)."
    return InvalidInput(message, errors={"html": [message]})


class PdfRenderer(ProviderAdapter):
    """An html_to_pdf provider: subclasses write the PDF of a payload into a Document."""

    @provides("html_to_pdf")
    async def html_to_pdf(self, payload: dict[str, Any], context: CallContext) -> dict[str, Any]:
        document = Document(
            PDF, max_bytes=settings.GATEWAY_DOCS_MAX_PDF_BYTES, filename=context.request_id
        )
        try:
            await self._render(payload, document)
        except BaseException:
            document.close()  # a failed attempt leaves nothing behind
            raise
        return {"document": document}

    async def health_probe(self) -> None:
        """A one-line document: the provider answers, and answers a PDF."""
        document = Document(PDF, max_bytes=settings.GATEWAY_DOCS_MAX_PDF_BYTES)
        try:
            await self._render({"html": PROBE_HTML, "page_size": "A4"}, document)
        finally:
            document.close()

    async def _render(self, payload: dict[str, Any], document: Document) -> None:
        raise NotImplementedError
