"""The admin index as ops read it, and its control room panel."""

import html
import re

from django.test import Client as HttpClient

INDEX = "/admin/"


def page(client: HttpClient) -> str:
    response = client.get(INDEX)
    assert response.status_code == 200
    return html.unescape(re.sub(r"\s+", " ", response.content.decode()))


def panel(text: str) -> str:
    found = re.search(r'<div class="module" id="control-room".*?</div>', text)
    assert found, "the index shows no control room"
    return found.group(0)
