"""Currency calls end to end: the HTTP endpoint, routing and the real adapters.

Only the vendors are fake (respx, in their documented formats); each provider row is the one
the catalog sync created, switched on with credentials and a base URL as ops would.
"""

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from apps.catalog.models import Offering, Provider
from apps.catalog.services import catalog_cache_invalidate
from apps.ledger.models import LedgerEntry
from tests.integrations.currency.vendor_answers import (
    CURRENCYLAYER_LIVE,
    ECB_DAILY,
    FIXER_CONVERT,
    FIXER_LATEST,
    OXR_LATEST,
    apilayer_error,
)

LATEST = "/api/v1/services/currency/latest_rates/"
CONVERT = "/api/v1/services/currency/convert/"


pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Vendor:
    """A provider row as ops set it up, and how its fake vendor answers latest rates."""

    slug: str
    base_url: str
    credentials: dict[str, str]
    latest_path: str
    latest_answer: dict[str, Any]  # keyword arguments of respx's respond()

    @property
    def latest_url(self) -> str:
        return f"{self.base_url}/{self.latest_path}"


FIXER = Vendor(
    "fixer", "https://fixer.test/api", {"access_key": "fx-key"}, "latest", {"json": FIXER_LATEST}
)
CURRENCYLAYER = Vendor(
    "currencylayer",
    "https://currencylayer.test",
    {"access_key": "cl-key"},
    "live",
    {"json": CURRENCYLAYER_LIVE},
)
OXR = Vendor(
    "openexchangerates",
    "https://oxr.test/api",
    {"app_id": "oxr-app"},
    "latest.json",
    {"json": OXR_LATEST},
)
ECB = Vendor("ecb", "https://ecb.test/stats/eurofxref", {}, "eurofxref-daily.xml",
             {"content": ECB_DAILY})  # fmt: skip


def enable(vendor: Vendor, *, priority: int) -> None:
    provider = Provider.objects.get(slug=vendor.slug)
    provider.enabled = True
    provider.base_url, provider.credentials = vendor.base_url, vendor.credentials
    provider.save()
    Offering.objects.filter(provider=provider).update(priority=priority, cost=Decimal("0.0010"))
    catalog_cache_invalidate()


@pytest.fixture
def no_provider(db):
    Provider.objects.update(enabled=False)
    catalog_cache_invalidate()


def post(api, url, body, caller):
    return api.post(url, json.dumps(body), content_type="application/json", headers=caller.headers)


@pytest.mark.parametrize(
    ("vendor", "base", "symbol", "rate"),
    [
        (FIXER, "EUR", "USD", 1.23396),
        (CURRENCYLAYER, "USD", "EUR", 0.908),
        (OXR, "USD", "GBP", 0.66005),
        (ECB, "EUR", "JPY", 161.84),
    ],
    ids=lambda value: value.slug if isinstance(value, Vendor) else None,
)
def test_each_provider_serves_latest_rates(
    api, caller, no_provider, respx_mock, vendor, base, symbol, rate
):
    # given only this provider, at the base URL ops configured, with its credentials
    enable(vendor, priority=1)
    route = respx_mock.get(vendor.latest_url).respond(200, **vendor.latest_answer)

    # when
    response = post(api, LATEST, {"base": base, "symbols": [symbol]}, caller)

    # then
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == vendor.slug
    assert response.json()["data"]["rates"] == {symbol: rate}
    sent = route.calls.last.request.url.params
    assert {name: sent[name] for name in vendor.credentials} == vendor.credentials
    assert LedgerEntry.objects.get().provider == vendor.slug


def test_fixer_converts_in_decimal(api, caller, no_provider, respx_mock):
    # given
    enable(FIXER, priority=1)
    respx_mock.get(f"{FIXER.base_url}/convert").respond(200, json=FIXER_CONVERT)

    # when
    response = post(api, CONVERT, {"from": "GBP", "to": "JPY", "amount": "25.00"}, caller)

    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {
        "from": "GBP",
        "to": "JPY",
        "amount": "25.00",
        "rate": 148.972,
        "result": "3724",
        "date": "2026-11-29",
    }
    assert response["X-Price"] == "0.0100"


def test_an_invalid_currency_at_fixer_is_422_without_failover(api, caller, no_provider, respx_mock):
    # given fixer first and currencylayer as the fallback
    enable(FIXER, priority=1)
    enable(CURRENCYLAYER, priority=2)
    respx_mock.get(FIXER.latest_url).respond(
        200,
        json=apilayer_error(
            202, "invalid_currency_codes", "You have provided one or more invalid Currency Codes."
        ),
    )
    fallback = respx_mock.get(CURRENCYLAYER.latest_url).respond(200, **CURRENCYLAYER.latest_answer)
    respx_mock.assert_all_called = False

    # when
    response = post(api, LATEST, {"base": "EUR", "symbols": ["USD", "QQQ"]}, caller)

    # then
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"] == {"symbols": ["One or more unknown currency codes."]}
    assert [(a["provider"], a["outcome"]) for a in problem["attempts"]] == [("fixer", "rejected")]
    assert not fallback.called


def test_a_fixer_fault_fails_over_to_the_ecb(api, caller, no_provider, respx_mock):
    # given fixer over its monthly quota, and the ECB behind it
    enable(FIXER, priority=1)
    enable(ECB, priority=2)
    respx_mock.get(FIXER.latest_url).respond(
        200, json=apilayer_error(104, "usage_limit_reached", "Monthly limit reached.")
    )
    respx_mock.get(ECB.latest_url).respond(200, **ECB.latest_answer)

    # when
    response = post(api, LATEST, {"base": "EUR", "symbols": ["USD"]}, caller)

    # then
    assert response.status_code == 200, response.content
    assert response["X-Provider"] == "ecb"
    assert response.json()["data"]["rates"] == {"USD": 1.0823}
    attempts = LedgerEntry.objects.get().attempts
    assert [(a["provider"], a["outcome"]) for a in attempts] == [
        ("fixer", "quota_exceeded"),
        ("ecb", "ok"),
    ]
