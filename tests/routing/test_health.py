"""Active health checks: each adapter's probe in its vendor's format, fed to the breakers."""

from collections.abc import Iterator

import pytest
import respx

from apps.catalog.models import Offering, Provider
from apps.catalog.registry import registry
from apps.routing import breakers
from apps.routing.health import provider_breaker_policy, providers_health_check
from apps.routing.tasks import HEALTH_CHECK_TASK, health_check_providers
from tests.integrations.currency.vendor_answers import ECB_DAILY, apilayer_error, oxr_error
from tests.support.routing import FIXER_URL, OXR_URL, configure, post

CURRENCYLAYER_URL = "https://currencylayer.test"
ECB_URL = "https://ecb.test/stats/eurofxref"

# The vendors' documented answers to the probe endpoints.
FIXER_SYMBOLS = {
    "success": True,
    "symbols": {"AED": "United Arab Emirates Dirham", "EUR": "Euro", "USD": "United States Dollar"},
}
CURRENCYLAYER_LIST = {
    "success": True,
    "terms": "https://currencylayer.com/terms",
    "privacy": "https://currencylayer.com/privacy",
    "currencies": {"AED": "United Arab Emirates Dirham", "EUR": "Euro"},
}
OXR_USAGE = {
    "status": 200,
    "data": {
        "app_id": "oxr",
        "status": "active",
        "plan": {"name": "Developer", "quota": "10,000 requests / month"},
        "usage": {"requests": 54, "requests_quota": 10000, "requests_remaining": 9946},
    },
}

pytestmark = pytest.mark.django_db


@pytest.fixture
def four_providers(db) -> None:
    configure("fixer", base_url=FIXER_URL, credentials={"access_key": "fx"})
    configure("openexchangerates", base_url=OXR_URL, credentials={"app_id": "oxr"})
    configure("currencylayer", base_url=CURRENCYLAYER_URL, credentials={"access_key": "cl"})
    configure("ecb", base_url=ECB_URL)
    Provider.objects.filter(slug="sandbox").update(enabled=False)


@pytest.fixture
def probes() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{FIXER_URL}/symbols", name="fixer").respond(json=FIXER_SYMBOLS)
        router.get(f"{OXR_URL}/usage.json", name="oxr").respond(json=OXR_USAGE)
        router.get(f"{CURRENCYLAYER_URL}/list", name="currencylayer").respond(
            json=CURRENCYLAYER_LIST
        )
        router.get(f"{ECB_URL}/eurofxref-daily.xml", name="ecb").respond(content=ECB_DAILY)
        yield router


def breaker_of(slug: str, method: str = "latest_rates") -> breakers.BreakerView:
    offering = Offering.objects.select_related("provider").get(
        provider__slug=slug, method__slug=method
    )
    policy = provider_breaker_policy(offering.provider)
    return breakers.breaker_views([(offering.pk, policy)])[offering.pk]


def test_every_currency_adapter_declares_a_health_probe():
    currency = [a for a in registry.adapters.values() if a.service == "currency"]
    assert currency and all(a.has_health_probe() for a in currency)


def test_the_task_probes_every_enabled_provider_with_its_documented_probe(four_providers, probes):
    # when
    probed = health_check_providers()

    # then each vendor got its cheap probe, with our credentials
    assert probed == 4
    assert probes["fixer"].calls.last.request.url.params["access_key"] == "fx"
    assert probes["currencylayer"].calls.last.request.url.params["access_key"] == "cl"
    assert probes["oxr"].calls.last.request.url.params["app_id"] == "oxr"
    assert probes["ecb"].called
    # and every offering of each shows the check in its breaker
    for slug in ("fixer", "openexchangerates", "currencylayer", "ecb"):
        for method in ("latest_rates", "convert"):
            view = breaker_of(slug, method)
            assert (view.state, view.probe_outcome) == ("closed", "ok")
            assert view.probe_latency_ms is not None


@pytest.mark.parametrize(
    "vendor, answer, outcome",
    [
        ("fixer", {"json": apilayer_error(101, "invalid_access_key")}, "auth_failed"),
        ("currencylayer", {"json": apilayer_error(104, "usage_limit_reached")}, "quota_exceeded"),
        ("oxr", {"status_code": 401, "json": oxr_error(401, "invalid_app_id")}, "auth_failed"),
        ("ecb", {"status_code": 503, "text": "Service Unavailable"}, "http_error"),
        ("ecb", {"text": "<html>maintenance</html>"}, "malformed"),
        ("fixer", {"json": {"success": True}}, "malformed"),
    ],
    ids=["fixer-key", "currencylayer-quota", "oxr-key", "ecb-503", "ecb-html", "fixer-shape"],
)
def test_a_failing_probe_is_a_fault_named_as_for_a_call(
    four_providers, probes, vendor, answer, outcome
):
    probes[vendor].respond(**answer)

    results = {r.provider: r for r in providers_health_check()}

    slug = {"oxr": "openexchangerates"}.get(vendor, vendor)
    assert (results[slug].healthy, results[slug].outcome) == (False, outcome)
    assert [r.provider for r in results.values() if not r.healthy] == [slug]
    view = breaker_of(slug)
    assert (view.probe_outcome, view.consecutive_faults) == (outcome, 1)
    assert view.probe_error


def test_disabled_providers_and_missing_credentials(four_providers, probes):
    Provider.objects.filter(slug="ecb").update(enabled=False)
    configure("fixer", credentials={})

    results = {r.provider: r.outcome for r in providers_health_check()}

    assert "ecb" not in results and not probes["ecb"].called
    assert results["fixer"] == "misconfigured" and not probes["fixer"].called


def test_failing_checks_open_the_breaker_and_calls_skip_the_provider(
    api, caller, two_providers, vendors, clock
):
    # given fixer's status endpoint fails; its breaker opens after 3 faults
    vendors.get(f"{FIXER_URL}/symbols").respond(status_code=502)
    vendors.get(f"{OXR_URL}/usage.json").respond(json=OXR_USAGE)
    fixer_latest = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)

    # when the beat task runs three times
    for _ in range(3):
        health_check_providers()

    # then calls skip fixer without trying it
    response = post(api, caller)
    assert response["X-Provider"] == "openexchangerates"
    assert not fixer_latest.called


def test_a_passing_check_closes_an_open_breaker(api, caller, two_providers, vendors, clock):
    from tests.integrations.currency.vendor_answers import FIXER_LATEST

    # given fixer's breaker is open after failed calls
    fixer_latest = vendors.get(f"{FIXER_URL}/latest").respond(status_code=500)
    for _ in range(3):
        post(api, caller)
    assert breaker_of("fixer").state == "open"

    # when it recovers and the next health check passes, well inside the cooldown
    clock.advance(5)
    fixer_latest.respond(json=FIXER_LATEST)
    vendors.get(f"{FIXER_URL}/symbols").respond(json=FIXER_SYMBOLS)
    vendors.get(f"{OXR_URL}/usage.json").respond(json=OXR_USAGE)
    health_check_providers()

    # then calls go to fixer again at once
    assert breaker_of("fixer").state == "closed"
    assert post(api, caller)["X-Provider"] == "fixer"


def test_the_health_check_is_on_the_beat_schedule(settings):
    from gateway_project.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["routing-health-checks"]
    assert entry["task"] == HEALTH_CHECK_TASK
    assert entry["schedule"] == settings.GATEWAY_HEALTH_CHECK_INTERVAL_S > 0
    app.loader.import_default_modules()
    assert HEALTH_CHECK_TASK in app.tasks
    assert app.conf.beat_schedule["routing-health-checks"]["task"] == HEALTH_CHECK_TASK
