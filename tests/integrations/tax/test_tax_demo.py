"""The offline demo quotes taxes through the sandbox; AvaTax and TaxJar wait for credentials."""

import json
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command

from apps.catalog.models import Provider
from tests.integrations.tax.conftest import SEATTLE, TORONTO, sale

pytestmark = pytest.mark.django_db


def test_the_demo_key_quotes_taxes_offline(api):
    # given the demo catalog
    out = StringIO()
    call_command("gateway_demo", stdout=out, stderr=StringIO())
    key = out.getvalue().split("(shown only once): ")[1].split()[0]
    headers = {"Authorization": f"Api-Key {key}"}
    for slug in ("avatax", "taxjar"):
        provider = Provider.objects.get(slug=slug)
        assert (provider.enabled, provider.credentials) == (False, {})

    # when
    quote = api.post(
        "/api/v1/services/tax/taxes_for_sale/",
        json.dumps(sale(SEATTLE)),
        content_type="application/json",
        headers=headers,
    )
    rates = api.post(
        "/api/v1/services/tax/taxes_for_address/",
        json.dumps({"address": TORONTO}),
        content_type="application/json",
        headers=headers,
    )

    # then
    assert (quote.status_code, quote["X-Provider"], quote["X-Price"]) == (
        200,
        "tax-sandbox",
        "0.0200",
    )
    assert quote.json()["data"]["total_tax"] == "6.50"  # 5 % + 1 % + 0.5 % of 100.00
    assert (rates.status_code, rates["X-Price"]) == (200, "0.0050")
    assert rates.json()["data"]["total_rate"] == "0.12"


def test_a_second_apply_of_the_demo_changes_nothing():
    path = settings.BASE_DIR / "fixtures" / "demo.yaml"
    call_command("gateway_apply", str(path), stdout=StringIO())
    dumped = StringIO()
    call_command("gateway_dump", stdout=dumped)
    tax_providers = [
        p for p in yaml.safe_load(dumped.getvalue())["providers"] if p["adapter"].startswith("tax.")
    ]

    assert sorted(p["slug"] for p in tax_providers) == ["avatax", "tax-sandbox", "taxjar"]
    again = StringIO()
    call_command("gateway_apply", str(path), stdout=again)
    counts = [line for line in again.getvalue().splitlines() if " created, " in line]
    assert counts and all(": 0 created, 0 updated," in line for line in counts), counts
