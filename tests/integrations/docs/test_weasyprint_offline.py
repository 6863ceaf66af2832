"""docs.weasyprint reads no file and reaches no address, whatever the document points to."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.catalog.providers import InvalidInput
from apps.integrations.docs.providers.weasyprint import WeasyPrint
from tests.support.files import WatchedFile
from tests.support.servers import Listener

# Every way a document names a resource, "{url}" a loopback listener or a file on the disk.
VECTORS = [
    ('<link rel="stylesheet" href="{url}">', ""),
    ('<img src="{url}">', ""),
    ('<object data="{url}"></object>', ""),
    ('<embed src="{url}">', ""),
    ('<svg><image href="{url}" width="10" height="10"/></svg>', ""),
    ("<p>x</p>", "@import url({url});"),
    ("<p>x</p>", "@font-face {{font-family: f; src: url({url})}} p {{font-family: f}}"),
    ("<p>x</p>", "p {{background: url({url})}}"),
    ("<p>x</p>", "p::before {{content: url({url})}}"),
]


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener("127.0.0.1")
    yield listener
    listener.close()


@pytest.fixture
def watched_file(tmp_path: Path) -> Iterator[WatchedFile]:
    watched = WatchedFile(tmp_path)
    yield watched
    watched.close()


async def render(adapter, call, html: str, css: str) -> bytes:
    payload = {"html": html, **({"css": css} if css else {})}
    result = await call(adapter(WeasyPrint), "html_to_pdf", payload)
    pdf = b"".join(result["document"].chunks())
    result["document"].close()
    return pdf


@pytest.mark.parametrize(("html", "css"), VECTORS)
async def test_nothing_on_the_network_is_fetched(adapter, call, listener, html, css):
    url = f"http://127.0.0.1:{listener.port}/x"

    pdf = await render(adapter, call, html.format(url=url), css.format(url=url))

    assert pdf.startswith(b"%PDF-")
    assert listener.received == []


@pytest.mark.parametrize("scheme", ["file://", ""])
@pytest.mark.parametrize(("html", "css"), VECTORS)
async def test_no_file_is_read(adapter, call, watched_file, html, css, scheme):
    url = f"{scheme}{watched_file.path}"

    # A relative @import with no base URL makes WeasyPrint give up on the document (the
    # client's input error, tests/integrations/docs/test_relative_import.py): nothing is read.
    with contextlib.suppress(InvalidInput):
        await render(adapter, call, html.format(url=url), css.format(url=url))

    assert not watched_file.opened.is_set()
