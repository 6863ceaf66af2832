"""The Django-side entry of a call (apps.gateway.views): the ViewSet that serves calls when
Django has the request (runserver, a WSGI server). Production serves them from the ASGI
endpoint (every other call test goes there, through `api`); here Django's own test client
reaches the ViewSet, and its answers are held to the ASGI entry's."""

import json

import pytest
from django.core.asgi import get_asgi_application
from django.test import Client
from django.urls import reverse

from apps.ledger.models import LedgerEntry
from tests.support.asgi import asgi_request

LATEST = "/api/v1/services/currency/latest_rates/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def django_side() -> Client:
    """Django's test client: a call goes through Django's handler to the ViewSet."""
    return Client()


def call(client, caller, body=None, **extra):
    return client.post(
        LATEST,
        json.dumps({"base": "EUR"} if body is None else body),
        content_type="application/json",
        headers=caller.headers,
        **extra,
    )


def test_each_method_is_an_action_of_its_services_viewset():
    assert reverse("call-currency-latest_rates") == LATEST
    assert reverse("call-docs-html_to_pdf") == "/api/v1/services/docs/html_to_pdf/"


def test_a_call_is_answered_as_the_asgi_entry_answers_it(django_side, api, caller, sandbox_only):
    # when the same call goes to each entry
    viewset = call(django_side, caller, HTTP_X_REQUEST_ID="django-1")
    asgi = call(api, caller, HTTP_X_REQUEST_ID="asgi-1")

    # then both answer the same envelope with the same headers
    assert viewset.status_code == asgi.status_code == 200
    django_body, asgi_body = viewset.json(), asgi.json()
    assert django_body["request_id"] == viewset["X-Request-ID"] == "django-1"
    assert {k: v for k, v in django_body.items() if k not in ("request_id", "data")} == {
        k: v for k, v in asgi_body.items() if k not in ("request_id", "data")
    }
    assert django_body["data"].keys() == asgi_body["data"].keys()
    for header in ("Content-Type", "Content-Length", "X-Provider", "X-Price", "X-Frame-Options"):
        assert viewset[header] == asgi[header] or header == "Content-Length", header
    assert not viewset.has_header("Allow") and not viewset.has_header("Vary")
    assert [e.channel for e in LedgerEntry.objects.order_by("id")] == ["http", "http"]


@pytest.mark.parametrize("verb", ["get", "head", "options", "put", "delete"])
def test_anything_but_post_is_the_405_problem(django_side, caller, sandbox_only, verb):
    response = getattr(django_side, verb)(LATEST, headers=caller.headers)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "application/problem+json"
    if verb != "head":
        assert response.json()["detail"] == "Call a method with POST."


def test_an_unknown_method_is_the_pipelines_answer(django_side, caller, sandbox_only):
    unknown = "/api/v1/services/currency/no_such_method/"

    anonymous = django_side.post(unknown, b"{}", content_type="application/json")
    known_client = django_side.post(
        unknown, b"{}", content_type="application/json", headers=caller.headers
    )

    # the key is checked first, as for any call; then the method is not found
    assert anonymous.status_code == 401
    assert known_client.status_code == 404
    assert known_client["Content-Type"] == "application/problem+json"


def test_accept_and_format_do_not_change_the_answer(django_side, caller, sandbox_only):
    for extra in ({"HTTP_ACCEPT": "application/xml"}, {"QUERY_STRING": "format=yaml"}):
        response = call(django_side, caller, **extra)
        assert response.status_code == 200, extra
        assert response["Content-Type"] == "application/json"


def test_a_body_over_the_limit_is_413(django_side, caller, sandbox_only, settings):
    settings.GATEWAY_MAX_BODY_BYTES = 64

    response = call(django_side, caller, {"symbols": ["USD"] * 40})

    assert response.status_code == 413
    assert response.json()["type"] == "/problems/payload-too-large"


def test_a_browser_gets_the_browsable_api_page_of_the_answer(django_side, caller, sandbox_only):
    # when a browser posts the call (its Accept prefers HTML)
    response = call(django_side, caller, HTTP_ACCEPT="text/html,*/*;q=0.8")

    # then the answer is shown on the browsable API's page, its headers kept
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response["X-Provider"] == "sandbox"
    assert b"&quot;succeeded&quot;" in response.content
    # and a GET shows the 405 problem there, not DRF's form page for another method
    page = django_side.get(LATEST, HTTP_ACCEPT="text/html")
    assert page.status_code == 405
    assert b"Call a method with POST." in page.content


@pytest.mark.django_db(transaction=True)
async def test_under_djangos_own_asgi_handler_the_viewset_serves(caller, sandbox_only):
    # given Django's ASGI application without the call endpoint in front of it
    django_asgi = get_asgi_application()

    # when a call arrives
    answer = await asgi_request(
        "POST",
        LATEST,
        headers={**caller.headers, "content-type": "application/json"},
        body=b'{"base": "EUR"}',
        app=django_asgi,
    )

    # then the ViewSet answered it through the same pipeline
    assert answer.status == 200
    assert answer.json()["status"] == "succeeded"
    assert answer.header("X-Provider") == "sandbox"
