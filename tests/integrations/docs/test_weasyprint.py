"""docs.weasyprint: renders in the worker, fetches nothing the client's HTML points to."""

import base64
import contextlib
import io
import socket
import threading
import zlib

import pytest
from PIL import Image

from apps.catalog.providers import InvalidInput
from apps.integrations.docs.providers.weasyprint import WeasyPrint, url_fetcher
from tests.integrations.docs.conftest import INVOICE


def png_pixel() -> str:
    """A 1x1 PNG, base64: the one kind of resource a document may carry (inline)."""
    image = io.BytesIO()
    Image.new("RGB", (1, 1), "navy").save(image, "PNG")
    return base64.b64encode(image.getvalue()).decode()


class Listener:
    """A local TCP port that counts the connections made to it (and answers none)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}"

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                self.server.accept()[0].close()
                self.connections += 1
            except OSError:
                continue

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.server.close()


def page_boxes(pdf: bytes) -> list[bytes]:
    """The /MediaBox entries of a PDF, looking into its compressed object streams too."""
    found = []
    for part in [*pdf.split(b"stream\n")[1:], pdf]:
        body = part.split(b"endstream")[0]
        with contextlib.suppress(zlib.error):
            body = zlib.decompress(body.strip(b"\r\n"))
        found += [box.split(b"]")[0] for box in body.split(b"/MediaBox")[1:]]
    return found


async def test_html_and_css_become_a_pdf(adapter, call):
    result = await call(adapter(WeasyPrint), "html_to_pdf", INVOICE)

    document = result["document"]
    pdf = b"".join(document.chunks())
    document.close()
    assert pdf.startswith(b"%PDF-")
    assert document.size == len(pdf) > 1000
    assert pdf.rstrip().endswith(b"%%EOF")


@pytest.mark.parametrize(
    ("page_size", "width"), [("A4", b"595"), ("A3", b"841"), ("Letter", b"612")]
)
async def test_the_requested_page_size_wins_over_the_documents_own(adapter, call, page_size, width):
    html = "<style>@page { size: A5 }</style><p>x</p>"

    result = await call(adapter(WeasyPrint), "html_to_pdf", {"html": html, "page_size": page_size})

    pdf = b"".join(result["document"].chunks())
    result["document"].close()
    boxes = page_boxes(pdf)
    assert boxes and all(box.split()[2].startswith(width) for box in boxes), boxes


async def test_nothing_the_html_points_to_is_fetched_but_data_urls_are_read(adapter, call):
    listener = Listener()
    html = (
        f'<link rel="stylesheet" href="{listener.url}/style.css">'
        f'<img src="{listener.url}/latest/meta-data/">'
        f'<img src="file:///etc/hostname">'
        f'<img src="data:image/png;base64,{png_pixel()}">'
    )
    try:
        result = await call(
            adapter(WeasyPrint),
            "html_to_pdf",
            {"html": html, "css": f"@import url({listener.url}/more.css);"},
        )
    finally:
        listener.close()

    pdf = b"".join(result["document"].chunks())
    result["document"].close()
    assert listener.connections == 0
    assert pdf.count(b"/Subtype /Image") == 1  # the inline pixel, nothing else


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/", "https://example.org/x.css", "file:///etc/passwd"]
)
def test_the_fetcher_refuses_every_scheme_but_data(url):
    with pytest.raises(ValueError, match="disallowed protocol"):
        url_fetcher().fetch(url)


async def test_a_pdf_over_the_limit_is_refused_clearly(adapter, call, settings):
    settings.GATEWAY_DOCS_MAX_PDF_BYTES = 2000

    with pytest.raises(InvalidInput) as refused:
        await call(adapter(WeasyPrint), "html_to_pdf", {"html": "<p>x</p>" * 2000})

    assert refused.value.errors == {
        "html": ["The PDF would be larger than 2000 bytes (GATEWAY_DOCS_MAX_PDF_BYTES)."]
    }


async def test_the_health_probe_renders(adapter):
    await adapter(WeasyPrint).probe()
