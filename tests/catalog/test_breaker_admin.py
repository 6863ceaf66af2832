"""Ops in the admin: each breaker's state, fault rate, last error and latency; drain, force
closed, reset, probe now; thresholds per provider."""

import re

import pytest
import respx
from django.test import Client as HttpClient
from django.urls import reverse

from apps.catalog.models import Offering, Provider
from apps.gateway.snapshot import current_snapshot_sync
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord
from apps.routing.health import offering_breaker_policy, provider_breaker_policy

pytestmark = pytest.mark.django_db

FIXER_URL = "https://fixer.test/api"


def fixer_offering(method: str = "latest_rates") -> Offering:
    return Offering.objects.select_related("provider").get(
        provider__slug="fixer", method__slug=method
    )


def route(offering: Offering):
    from tests.support.routing import route_of

    return route_of(
        "fixer", offering_id=offering.pk, breaker=provider_breaker_policy(offering.provider)
    )


def view_of(offering: Offering) -> breakers.BreakerView:
    offering.refresh_from_db(fields=["breaker_forced"])
    policy = offering_breaker_policy(offering)
    return breakers.breaker_views([(offering.pk, policy)])[offering.pk]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


async def _fail(offering_route, times: int, latency_ms: int = 250) -> None:
    await breakers.route_end(
        [
            AttemptRecord(
                offering_route, breakers.FAULT, "http_error", latency_ms, "HTTP 503 maintenance"
            )
        ]
        * times
    )


def fail(offering: Offering, times: int) -> None:
    import asyncio

    asyncio.run(_fail(route(offering), times))


def test_the_offering_list_shows_each_breaker(admin_client: HttpClient):
    # given fixer's rates offering failed five times in a row (its breaker opens at 5)
    fail(fixer_offering(), 5)

    # when
    page = text(admin_client.get(reverse("admin:catalog_offering_changelist")))

    # then ops see its state, fault rate, last error and latency
    assert page.count(">open for 30 s<") == 1
    assert "100% of 5" in page
    assert "HTTP 503 maintenance" in page
    assert "250 ms" in page
    assert ">closed<" in page  # the other offerings


def test_the_provider_page_shows_its_breakers_and_saves_its_thresholds(
    admin_client: HttpClient,
):
    provider = Provider.objects.get(slug="fixer")
    fail(fixer_offering("convert"), 2)
    url = reverse("admin:catalog_provider_change", args=[provider.pk])

    # the page lists the breaker of each offering
    page = text(admin_client.get(url))
    assert "currency.convert" in page and "currency.latest_rates" in page
    assert "HTTP 503 maintenance" in page

    # ops tune the thresholds, and routing uses them at once
    form = admin_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(breaker_failures=2, breaker_cooldown_s=90, _save="Save")
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    provider.refresh_from_db()
    assert (provider.breaker_failures, provider.breaker_cooldown_s) == (2, 90)
    provider.enabled = True
    provider.save()
    rates = current_snapshot_sync().methods["currency.latest_rates"]
    (fixer,) = [o for o in rates.offerings if o.provider.slug == "fixer"]
    assert (fixer.breaker.failures, fixer.breaker.cooldown_s) == (2, 90)


def test_ops_drain_a_provider_force_it_closed_and_reset_it(admin_client: HttpClient):
    provider = Provider.objects.get(slug="fixer")
    url = reverse("admin:catalog_provider_changelist")

    def act(action: str) -> None:
        response = admin_client.post(
            url, {"action": action, "_selected_action": [provider.pk]}, follow=True
        )
        assert response.status_code == 200

    act("force_providers_open")
    assert {view_of(o).state for o in Offering.objects.filter(provider=provider)} == {"forced_open"}
    assert "forced open" in text(admin_client.get(url))

    act("force_providers_closed")
    fail(fixer_offering(), 10)
    assert view_of(fixer_offering()).state == "forced_closed"

    act("reset_provider_breakers")
    view = view_of(fixer_offering())
    assert (view.state, view.consecutive_faults) == ("closed", 0)


def test_an_offering_can_be_drained_alone(admin_client: HttpClient):
    rates, convert = fixer_offering("latest_rates"), fixer_offering("convert")

    admin_client.post(
        reverse("admin:catalog_offering_changelist"),
        {"action": "force_open", "_selected_action": [rates.pk]},
    )

    assert (view_of(rates).state, view_of(convert).state) == ("forced_open", "closed")


def test_probe_now_runs_the_health_check_and_reports_it(admin_client: HttpClient):
    provider = Provider.objects.get(slug="fixer")
    provider.base_url, provider.credentials = FIXER_URL, {"access_key": "fx"}
    provider.save()

    with respx.mock:
        respx.get(f"{FIXER_URL}/symbols").respond(
            json={"success": False, "error": {"code": 101, "type": "invalid_access_key"}}
        )
        response = admin_client.post(
            reverse("admin:catalog_provider_changelist"),
            {"action": "probe_now", "_selected_action": [provider.pk]},
            follow=True,
        )

    messages = [str(m) for m in response.context["messages"]]
    assert any(m.startswith("fixer: auth_failed") for m in messages), messages
    view = view_of(fixer_offering())
    assert (view.probe_outcome, view.consecutive_faults) == ("auth_failed", 1)
