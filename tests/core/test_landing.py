"""GET /: a small public page that leads a new user to the docs, the admin and the probes."""

import platform
import re

import django
import pytest
from django.conf import settings
from django.test import Client, override_settings

LINKS = ["/api/docs/", "/api/schema/", "/api/v1/services/", "/admin/", "/healthz", "/readyz"]


def hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_landing_page_links_the_docs_schema_services_admin_and_probes(client: Client) -> None:
    # given a production-like process (the test settings run with DEBUG off)
    assert settings.DEBUG is False

    # when a new user opens the root
    response = client.get("/")

    # then it is a page, not a 404, and it links every entry point
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Service Gateway" in html
    assert set(LINKS) <= set(hrefs(html))


@pytest.mark.django_db
def test_every_link_on_the_landing_page_leads_somewhere(client: Client) -> None:
    # given the landing page
    html = client.get("/").content.decode()

    # when each link is followed
    answers = {href: client.get(href).status_code for href in hrefs(html)}

    # then none is missing: the admin redirects to its login, the services list wants a key
    assert answers["/api/docs/"] == 200
    assert answers["/api/schema/"] == 200
    assert answers["/healthz"] == 200
    assert answers["/admin/"] == 302
    assert answers["/api/v1/services/"] == 401
    assert 404 not in answers.values()


def test_the_curl_on_the_page_names_the_host_it_was_opened_on(client: Client) -> None:
    # when the page is opened through an allowed host name
    response = client.get("/", HTTP_HOST="localhost")

    # then its curl can be pasted as is: a full URL on that host, and a call the gateway serves
    html = response.content.decode()
    curl = re.search(r'<pre id="curl">(.*?)</pre>', html, re.S)
    assert curl is not None
    assert "curl -s -X POST http://localhost/api/v1/services/currency/latest_rates/" in curl[1]
    assert "Authorization: Api-Key $GATEWAY_API_KEY" in curl[1]
    assert "Content-Type: application/json" in curl[1]


def test_the_landing_page_reveals_no_versions_or_settings(client: Client) -> None:
    # when anyone opens the page
    html = client.get("/").content.decode()

    # then it names no framework or Python version, and no setting
    for secret in (
        django.get_version(),
        platform.python_version(),
        settings.SECRET_KEY,
        "DEBUG",
        "DATABASE_URL",
        "REDIS_URL",
        "Django",
    ):
        assert secret not in html


def test_head_answers_like_get_without_a_body(client: Client) -> None:
    # when a probe or a crawler asks with HEAD
    response = client.head("/")

    # then it gets 200 and the page's headers, no body
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.content == b""


def test_the_landing_page_refuses_other_methods(client: Client) -> None:
    # when something posts to the root
    response = client.post("/")

    # then it is told which methods the page has
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_the_landing_page_also_answers_with_debug_on(client: Client) -> None:
    # given the embedded run (make run writes DEBUG=true), where / used to be Django's debug 404
    with override_settings(DEBUG=True):
        # when the root is opened
        response = client.get("/")

    # then it is the same landing page
    assert response.status_code == 200
    assert 'href="/api/docs/"' in response.content.decode()
