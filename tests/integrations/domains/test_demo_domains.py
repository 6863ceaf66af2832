"""The offline demo registers a domain at the sandbox registrar, from check to get."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.catalog.models import Provider
from apps.integrations.domains.models import Domain
from tests.integrations.domains.conftest import CONTACT

pytestmark = pytest.mark.django_db
SERVICE = "/api/v1/services/domains"


def test_the_demo_key_registers_a_domain_offline(api, django_capture_on_commit_callbacks):
    # given the demo catalog, the real registrars off until they have credentials
    out = StringIO()
    call_command("gateway_demo", stdout=out, stderr=StringIO())
    key = out.getvalue().split("(shown only once): ")[1].split()[0]
    headers = {"Authorization": f"Api-Key {key}"}
    for slug in ("godaddy", "namecheap"):
        provider = Provider.objects.get(slug=slug)
        assert (provider.enabled, provider.credentials) == (False, {})

    def post(method: str, body: dict):
        return api.post(
            f"{SERVICE}/{method}/",
            json.dumps(body),
            content_type="application/json",
            headers=headers,
        )

    # when
    check = post("check_availability", {"domain": "demo-shop.com"})
    taken = post("check_availability", {"domain": "taken-shop.com"})
    intention = post("create_registration_intention", {"domain": "demo-shop.com"})
    with django_capture_on_commit_callbacks(execute=True):
        submit = post(
            "submit_registration_intention",
            {
                "intention_id": intention.json()["data"]["intention_id"],
                "registrant_contact": CONTACT,
                "dns_records": [{"type": "A", "name": "@", "data": "192.0.2.1"}],
            },
        )
    got = post("get", {"domain": "demo-shop.com"})

    # then
    assert check.json()["data"]["provider"] == "domains-sandbox", check.content
    assert check.json()["data"]["price"] == "9.99"
    assert taken.json()["data"]["available"] is False
    assert intention.status_code == 201, intention.content
    assert submit.status_code == 200, submit.content
    assert submit["X-Price"] == "0.5000"
    assert got.json()["data"]["status"] == "ACTIVE"
    domain = Domain.objects.get(name="demo-shop.com")
    assert domain.provider == "domains-sandbox" and domain.purchase.dns_configured
