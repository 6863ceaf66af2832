"""The internal document service the original system forwarded to (its `semilimes` provider).

`POST {base_url}/htmltopdf/` with the JSON body {"html", "css"?, "page_size"}; it answers
200 with the PDF (Content-Type: application/pdf). A 4xx says the document itself is wrong,
with the reason as JSON ({"detail": ...} or {"message": ...}) or as plain text.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from apps.catalog.documents import Document, DocumentTooLarge
from apps.catalog.providers import (
    OUTCOME_HTTP_ERROR,
    OUTCOME_MALFORMED,
    InvalidInput,
    ProviderFault,
)
from apps.catalog.registry import registry
from apps.integrations.docs.providers.base import PdfRenderer, too_large
from apps.integrations.docs.service import PDF

PDF_MAGIC = b"%PDF-"


@registry.provider
class RemoteDocs(PdfRenderer):
    """An internal HTML-to-PDF service at a configurable base URL; no credentials."""

    key = "docs.remote"
    default_slug = "docs-remote"
    display_name = "Internal document service"
    default_base_url = "http://docs.internal"
    default_timeout_ms = 10000

    async def _render(self, payload: dict[str, Any], document: Document) -> None:
        body = {"html": payload["html"], "page_size": payload["page_size"]}
        if payload.get("css"):
            body["css"] = payload["css"]
        async with self.stream("POST", "/htmltopdf/", json=body) as response:
            if response.status_code != 200:
                await self._refuse(response)
            content_type = response.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() != PDF:
                raise ProviderFault(OUTCOME_MALFORMED, f"answered {content_type or 'no type'}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > document.max_bytes:
                raise too_large(document.max_bytes)
            try:
                async for chunk in response.aiter_bytes():
                    document.write(chunk)
            except DocumentTooLarge as exc:
                raise too_large(exc.limit) from exc
        if document.head(len(PDF_MAGIC)) != PDF_MAGIC:
            raise ProviderFault(OUTCOME_MALFORMED, "answered application/pdf that is no PDF")

    async def _refuse(self, response: httpx.Response) -> None:
        """Anything but 200: 5xx and 429 are faults, another 4xx the document's fault."""
        await response.aread()
        self.raise_for_server_error(response)
        if 400 <= response.status_code < 500:
            reason = _reason(response)
            raise InvalidInput(
                f"The document service refused the document: {reason}", errors={"html": [reason]}
            )
        raise ProviderFault(OUTCOME_HTTP_ERROR, f"HTTP {response.status_code}")


def _reason(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:500] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        for name in ("detail", "message", "error"):
            if isinstance(body.get(name), str):
                return str(body[name])[:500]
    return text[:500]
