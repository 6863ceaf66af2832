"""transform_css inlines a message's own <style> rules and reads nothing they point to."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.integrations.email.providers.sendgrid import SendGrid
from tests.integrations.email.conftest import MESSAGE
from tests.integrations.email.vendor_answers import SENDGRID_ACCEPTED_HEADERS
from tests.support.files import WatchedFile
from tests.support.servers import Listener

MAIL_SEND = "https://api.sendgrid.com/v3/mail/send"
CSS = b"p { color: #123456 !important }"
STYLESHEET = b"HTTP/1.1 200 OK\r\nContent-Type: text/css\r\nContent-Length: %d\r\n\r\n%s" % (
    len(CSS),
    CSS,
)


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener("127.0.0.1", answer=STYLESHEET)
    yield listener
    listener.close()


@pytest.fixture
def watched_file(tmp_path: Path) -> Iterator[WatchedFile]:
    watched = WatchedFile(tmp_path)
    yield watched
    watched.close()


@pytest.mark.parametrize(
    "style",
    [
        "@import url({url}/a.css);",
        '@import "{url}/b.css";',
        "@import url(file://{path});",
        "@import url({path});",
    ],
)
async def test_an_import_in_a_style_element_is_not_followed(
    respx_mock, adapter, call, listener, watched_file, style
):
    # given a message whose <style> imports a stylesheet from loopback or from the disk
    route = respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    rule = style.format(url=f"http://127.0.0.1:{listener.port}", path=watched_file.path)
    html = f"<html><head><style>{rule} p {{font-weight: bold}}</style></head><body><p>x</p>"

    # when it is sent with transform_css
    await call(
        adapter(SendGrid, api_key="SG.key"),
        "send",
        {**MESSAGE, "body_html": html, "transform_css": True},
    )

    # then the message's own rule is inlined, and nothing was fetched or read
    sent_html = json.loads(route.calls.last.request.content)["content"][1]["value"]
    assert '<p style="font-weight:bold">x</p>' in sent_html
    assert listener.received == []
    assert not watched_file.opened.is_set()
    assert "SECRET-FROM-DISK" not in sent_html
    assert "123456" not in sent_html


async def test_a_linked_stylesheet_is_neither_fetched_nor_read(
    respx_mock, adapter, call, listener, watched_file
):
    # given <link>s to a stylesheet on loopback and on the disk
    route = respx_mock.post(MAIL_SEND).respond(202, headers=SENDGRID_ACCEPTED_HEADERS)
    html = (
        f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{listener.port}/a.css">'
        f'<link rel="stylesheet" href="file://{watched_file.path}">'
        f'<link rel="stylesheet" href="{watched_file.path}"></head><body><p>x</p>'
    )

    # when
    await call(
        adapter(SendGrid, api_key="SG.key"),
        "send",
        {**MESSAGE, "body_html": html, "transform_css": True},
    )

    # then
    sent_html = json.loads(route.calls.last.request.content)["content"][1]["value"]
    assert listener.received == []
    assert not watched_file.opened.is_set()
    assert "SECRET-FROM-DISK" not in sent_html
