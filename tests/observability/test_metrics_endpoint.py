"""GET /metrics in one process: what a call adds, what a scrape reads, who may scrape."""

import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
import respx
from django.test import Client
from django.utils import timezone

from apps.billing.models import CreditHold
from apps.catalog.models import Offering, Provider
from apps.monitoring.access import address_allowed
from apps.routing import breakers
from apps.routing.services import offering_breaker_force
from tests import factories
from tests.observability.scrapes import names, samples, total, value

pytestmark = pytest.mark.django_db(transaction=True)

LATEST = "/api/v1/services/currency/latest_rates/"
CALL = {"service": "currency", "method": "currency.latest_rates"}


def scrape(client: Client | None = None, **headers: str) -> str:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return response.content.decode()


def call(api: Client, caller, path: str = LATEST) -> int:
    response = api.post(path, {"base": "EUR"}, content_type="application/json", **_h(caller))
    return response.status_code


def _h(caller) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": caller.headers["Authorization"]}


def test_a_served_call_is_counted_timed_and_charged(api, caller, sandbox_only):
    # given
    before = scrape()

    # when
    assert call(api, caller) == 200

    # then
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    served = {**CALL, "provider": "sandbox", "status": "200", "channel": "http"}
    assert grew("gateway_calls_total", **served) == 1
    assert grew("gateway_call_duration_seconds_count", **CALL) == 1
    ok = {"provider": "sandbox", "method": "currency.latest_rates", "outcome": "ok"}
    assert grew("gateway_provider_attempts_total", **ok) == 1
    assert grew("gateway_provider_latency_seconds_count", provider="sandbox") == 1
    assert grew("gateway_charged_total", currency="USD") == pytest.approx(0.01)


def test_labels_carry_no_key_client_or_unknown_method(api, caller, sandbox_only):
    # given a served call, and a call to a method that does not exist
    assert call(api, caller) == 200
    assert call(api, caller, "/api/v1/services/currency/no_such_method_xyz/") == 404

    # when
    text = scrape()

    # then the 404 is counted without a method, and no label holds a key or the client
    assert total(text, "gateway_calls_total", method="", status="404") >= 1
    label_values = {v for _, labels, _ in samples(text) for v in labels.values()}
    assert caller.key not in text
    assert caller.key.split(".")[0] not in text  # not even the key's public prefix
    assert "acme" not in label_values
    assert not any("no_such_method_xyz" in v for v in label_values)


def test_a_tripped_breaker_reads_open(api, caller, fixer_only):
    # given fixer's breaker opens at its first fault
    Provider.objects.filter(slug="fixer").update(breaker_failures=1, breaker_cooldown_s=600)
    with respx.mock(assert_all_called=False) as vendor:
        vendor.route(host="127.0.0.1").pass_through()
        vendor.get("https://fixer.test/api/latest").respond(status_code=500)
        assert call(api, caller) == 502

    # when
    text = scrape()

    # then
    breaker = {"provider": "fixer", "method": "currency.latest_rates"}
    assert value(text, "gateway_circuit_state", **breaker) == 1
    fault = {**breaker, "outcome": "http_error"}
    assert total(text, "gateway_provider_attempts_total", **fault) >= 1
    assert value(text, "gateway_circuit_state", provider="fixer", method="currency.convert") == 0


def test_a_breaker_ops_forced_open_reads_forced(sandbox_only):
    # given ops drain sandbox on currency.convert
    offering = Offering.objects.get(
        provider__slug="sandbox", method=factories.method("currency.convert")
    )
    offering_breaker_force(offering_ids=[offering.pk], mode=breakers.FORCE_OPEN)

    # when
    text = scrape()

    # then 4 (forced open), which the breaker-open alert leaves alone; its sibling is closed
    convert = {"provider": "sandbox", "method": "currency.convert"}
    assert value(text, "gateway_circuit_state", **convert) == 4
    latest = {"provider": "sandbox", "method": "currency.latest_rates"}
    assert value(text, "gateway_circuit_state", **latest) == 0


def test_open_and_dangling_holds_are_counted(caller, settings):
    # given a hold of a call in flight and one left by a process that died an hour ago
    settings.GATEWAY_DANGLING_HOLD_AGE_S = 900
    now = timezone.now()
    for age, request_id in ((timedelta(0), "in-flight"), (timedelta(hours=1), "orphan")):
        CreditHold.objects.create(
            client=caller.client,
            request_id=request_id,
            method="currency.latest_rates",
            amount=Decimal("0.0100"),
            created_at=now - age,
        )

    # when
    text = scrape()

    # then
    assert value(text, "gateway_credit_holds_open") == 2
    assert value(text, "gateway_credit_holds_dangling") == 1


def test_readiness_reads_database_and_redis():
    text = scrape()
    assert value(text, "gateway_ready", component="database") == 1
    assert value(text, "gateway_ready", component="redis") == 1
    # No broker in these settings (Celery runs eagerly): no queue samples at all.
    assert value(text, "gateway_ready", component="broker") == 1
    assert "gateway_queue_depth" not in names(text)


def test_other_networks_are_refused_with_a_problem():
    response = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "METRICS_ALLOWED_NETWORKS" in response.json()["detail"]


def test_a_listed_network_may_scrape(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert "gateway_ready" in scrape(Client(REMOTE_ADDR="203.0.113.7"))
    assert Client().get("/metrics").status_code == 403  # loopback is no longer listed


def test_with_a_token_set_a_scrape_needs_it(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"

    missing = Client().get("/metrics")
    wrong = Client().get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-tokeX"})
    basic = Client().get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"})

    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused["Content-Type"] == "application/problem+json"
        assert refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "gateway_ready" in scrape(Authorization="Bearer s3cret-scrape-token")


def test_the_token_does_not_open_other_networks(settings):
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    client = Client(REMOTE_ADDR="198.51.100.1")
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped, as a dual-stack socket reports it
        ("::1", True),
        # private ranges are not trusted by default: a load balancer may sit on one
        ("10.1.2.3", False),
        ("::ffff:192.168.0.9", False),
        ("::ffff:8.8.8.8", False),
        ("2001:db8::1", False),
        ("", False),  # no peer address (a unix socket)
    ],
)
def test_which_addresses_the_default_networks_let_in(address, allowed):
    assert address_allowed(address) is allowed


def test_a_metrics_hook_that_fails_costs_the_metric_not_the_call(
    api, caller, sandbox_only, monkeypatch
):
    # given a worker whose metrics files cannot be written (a full disk, a directory gone)
    from apps.ledger.models import LedgerEntry
    from apps.observability import metrics

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    for instrument in (metrics.CALLS, metrics.ATTEMPTS, metrics.CHARGED):
        monkeypatch.setattr(instrument, "labels", broken)
    monkeypatch.setattr(metrics, "_call_children", {})
    monkeypatch.setattr(metrics, "_attempt_children", {})

    # when a call is served
    status = call(api, caller)

    # then it is answered and charged once, as without metrics
    assert status == 200
    assert LedgerEntry.objects.filter(client=caller.client).count() == 1


def test_only_get_is_served():
    response = Client().post("/metrics")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response["Content-Type"] == "application/problem+json"


def test_a_single_process_scrape_passes_promtool(api, caller, sandbox_only, promtool):
    # `make run`: one process, its own registry (with process and GC metrics)
    assert call(api, caller) == 200
    text = scrape()
    result = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "process_cpu_seconds_total" in names(text)
