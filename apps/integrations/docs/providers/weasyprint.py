"""WeasyPrint (https://doc.courtbouillon.org/weasyprint/): HTML and CSS to PDF, in the worker.

Rendering is CPU work in C libraries (Pango, HarfBuzz) and Python: it runs on a small pool
of threads of its own (GATEWAY_DOCS_RENDER_THREADS), so the event loop goes on serving calls
and a burst of documents waits its turn instead of taking every thread. The method's
deadline bounds the wait for the result; a thread cannot be stopped, so a render past the
deadline finishes in the background and its PDF is thrown away.

The HTML comes from clients, so nothing it points to is fetched: only data: URLs are read.
Otherwise a client could make the gateway request internal addresses (or read local files)
and see the answers rendered into its PDF.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings

from apps.catalog.documents import Document, DocumentTooLarge
from apps.catalog.providers import InvalidInput
from apps.catalog.registry import registry
from apps.integrations.docs.providers.base import PdfRenderer, too_large

logger = logging.getLogger(__name__)
# fontTools logs every font it subsets at INFO: several lines per document.
logging.getLogger("fontTools").setLevel(logging.WARNING)

# The only scheme a client's document may load resources from (inline images and fonts).
ALLOWED_SCHEMES = frozenset({"data"})


@functools.cache
def _render_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=settings.GATEWAY_DOCS_RENDER_THREADS, thread_name_prefix="weasyprint"
    )


def url_fetcher() -> Any:
    """WeasyPrint's fetcher limited to data: URLs; every other URL is refused (and the
    resource left out of the document, with a warning in the log)."""
    from weasyprint import URLFetcher

    return URLFetcher(allowed_protocols=ALLOWED_SCHEMES, allow_redirects=False, timeout=1)


def render(payload: dict[str, Any], document: Document) -> None:
    """Write the PDF of `payload` into `document` (blocking: call it on a worker thread)."""
    from weasyprint import CSS, HTML
    from weasyprint.css.tokens import InvalidValues

    fetcher = url_fetcher()
    source = payload["html"]
    if payload.get("css"):
        # The last author stylesheet, so it wins over the HTML's own styles ("</" escaped so
        # it stays one style element; a stylesheet passed to write_pdf would be a user
        # stylesheet, which the HTML's styles override).
        source += "<style>" + payload["css"].replace("</", "<\\/") + "</style>"
    # !important in a user stylesheet outranks any author @page size: the requested one wins.
    paper = CSS(string=f"@page {{ size: {payload['page_size']} !important; }}")
    html = HTML(string=source, url_fetcher=fetcher, base_url=None)
    try:
        html.write_pdf(target=document, stylesheets=[paper])
    except InvalidValues as exc:
        # WeasyPrint ignores every other relative URL without a base URL, with a warning,
        # but raises on an `@import url(/path)`: the client's document, not our fault.
        raise _relative_import(payload) from exc


def _relative_import(payload: dict[str, Any]) -> InvalidInput:
    field = "css" if "@import" in (payload.get("css") or "").lower() else "html"
    message = (
        "A stylesheet @import names a relative URL: a document has no base URL, and only "
        "data: URLs are loaded."
    )
    return InvalidInput(message, errors={field: [message]})


@registry.provider
class WeasyPrint(PdfRenderer):
    """Renders in the gateway's own process; needs no credentials and no network."""

    key = "docs.weasyprint"
    display_name = "WeasyPrint (renders in the gateway)"
    default_base_url = "weasyprint://local"
    default_timeout_ms = 30000

    async def _render(self, payload: dict[str, Any], document: Document) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(_render_pool(), render, payload, document)
        except DocumentTooLarge as exc:
            raise too_large(exc.limit) from exc
