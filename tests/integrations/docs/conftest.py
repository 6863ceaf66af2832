"""Docs adapters called as the executor calls them; a paying client; providers as ops set them."""

from collections.abc import Iterator

import pytest
import respx

from tests.support.calls import Caller, configure, only_providers, paying_client

HTML_TO_PDF = "/api/v1/services/docs/html_to_pdf/"
REMOTE_URL = "https://docs.test"
INVOICE = {
    "html": "<h1>Invoice 42</h1><p>Total: <b>EUR 10.50</b></p>",
    "css": "h1 { color: navy; }",
    "page_size": "A4",
}


@pytest.fixture
def writer(db: None) -> Caller:
    """A client whose plan prices docs.html_to_pdf at 0.0200."""
    return paying_client(("docs.html_to_pdf", "0.0200"))


@pytest.fixture
def weasyprint_only(db: None) -> None:
    only_providers("weasyprint")
    configure("weasyprint", base_url="weasyprint://local", credentials={}, timeout_ms=30000)


@pytest.fixture
def remote_then_weasyprint(db: None) -> None:
    only_providers("docs-remote", "weasyprint")
    configure("docs-remote", base_url=REMOTE_URL, credentials={}, priority=1, cost="0.0030")
    configure(
        "weasyprint",
        base_url="weasyprint://local",
        credentials={},
        priority=2,
        cost="0.0000",
        timeout_ms=30000,
    )


@pytest.fixture
def service() -> Iterator[respx.MockRouter]:
    """The internal document service, faked at the HTTP level (add its answer per test)."""
    with respx.mock(assert_all_called=False) as router:
        router.route(host="127.0.0.1").pass_through()
        yield router
