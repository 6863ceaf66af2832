"""The admin index's control room: what is wrong now, with links to where ops fix it."""

import asyncio
import re
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from apps.billing.models import CreditHold
from apps.catalog.models import Offering
from apps.ledger.models import LedgerEntry
from apps.monitoring import control_room
from apps.routing import breakers
from apps.routing.breakers import AttemptRecord
from apps.routing.health import provider_breaker_policy
from apps.routing.services import offering_breaker_force
from tests import factories
from tests.factories import staff_user
from tests.observability.admin_index import INDEX, page, panel

pytestmark = pytest.mark.django_db


@pytest.fixture
def ops(client: HttpClient) -> HttpClient:
    client.force_login(staff_user("night-ops", "ops"))
    return client


@pytest.fixture
def finance(client: HttpClient) -> HttpClient:
    client.force_login(staff_user("books", "finance"))
    return client


def rates_offering(provider: str = "fixer") -> Offering:
    return Offering.objects.select_related("provider").get(
        provider__slug=provider, method__slug="latest_rates"
    )


def fail(offering: Offering, times: int, latency_ms: int = 250) -> None:
    from tests.support.routing import route_of

    route = route_of(
        offering.provider.slug,
        offering_id=offering.pk,
        breaker=provider_breaker_policy(offering.provider),
    )
    record = AttemptRecord(route, breakers.FAULT, "http_error", latency_ms, "HTTP 503")
    asyncio.run(breakers.route_end([record] * times))


def call_row(client: Any, http_status: int, **fields: Any) -> LedgerEntry:
    values: dict[str, Any] = {
        "request_id": f"req-{LedgerEntry.objects.count()}",
        "client": client,
        "service": "currency",
        "method": "latest_rates",
        "provider": "fixer",
        "status": "succeeded" if http_status < 400 else "failed",
        "http_status": http_status,
        "currency": "USD",
    }
    return LedgerEntry.objects.create(**{**values, **fields})


def test_all_green_is_one_calm_line_with_the_time_of_the_reading(ops, fixer_only):
    text = panel(page(ops))

    assert re.search(r"Nothing needs attention \(read at \d\d:\d\d:\d\d \w+\)", text)
    assert "control-room-problem" not in text


def test_a_breaker_forced_open_shows_with_a_link_to_its_breaker(ops, fixer_only):
    # given ops drained fixer's rates offering
    offering = rates_offering()
    offering_breaker_force(offering_ids=[offering.pk], mode=breakers.FORCE_OPEN)

    # when
    text = panel(page(ops))

    # then the panel names it and links to its breaker and its provider
    assert "Breaker forced open by ops (drained): fixer · currency.latest_rates" in text
    breaker_url = f"{reverse('admin:catalog_offering_changelist')}?id__exact={offering.pk}"
    assert f'<a href="{breaker_url}">its breaker</a>' in text
    provider_url = reverse("admin:catalog_provider_change", args=[offering.provider_id])
    assert f'<a href="{provider_url}">the provider</a>' in text
    assert "Nothing needs attention" not in text
    # and the link leads to that one offering, where ops reset or force it
    listing = ops.get(breaker_url).content.decode()
    assert "1 offering" in listing or "1 result" in listing


def test_a_breaker_that_opened_on_faults_says_since_when(ops, fixer_only):
    fail(rates_offering(), 5)  # fixer's breaker opens after 5 faults in a row

    text = panel(page(ops))

    assert re.search(
        r"Breaker open: fixer · currency.latest_rates since \d\d:\d\d:\d\d \w+ "
        r"\(5 faults in a row\); calls skip it until \d\d:\d\d:\d\d",
        text,
    )


def test_a_failing_provider_shows_its_fault_rate(ops, fixer_only):
    # given 2 faults among 10 calls: too few in a row for the breaker, yet 20 % faulted
    offering = rates_offering()
    fail(offering, 2)
    from tests.support.routing import route_of

    route = route_of("fixer", offering_id=offering.pk)
    ok = AttemptRecord(route, breakers.SUCCESS, "ok", 120)
    asyncio.run(breakers.route_end([ok] * 8))

    text = panel(page(ops))

    assert "Failing: fixer · currency.latest_rates 20% of its last 10 calls faulted." in text


def test_a_slow_provider_shows_its_latency_against_its_timeout(ops, fixer_only):
    # given fixer answers, but in 1.8 s of its 2 s timeout
    fixer_only.timeout_ms = 2000
    fixer_only.save()
    from tests.support.routing import route_of

    route = route_of("fixer", offering_id=rates_offering().pk)
    asyncio.run(breakers.route_end([AttemptRecord(route, breakers.SUCCESS, "ok", 1800)] * 3))

    text = panel(page(ops))

    assert re.search(
        r"Slow: fixer · currency.latest_rates answers in 1[78]\d\d ms on average "
        r"\(timeout 2000 ms\)\.",
        text,
    )


def test_a_dangling_hold_shows_without_money_and_links_the_release_runs(
    admin_client, fixer_only, settings
):
    # given a hold left by a process that died an hour ago, and one of a call in flight
    settings.GATEWAY_DANGLING_HOLD_AGE_S = 900
    client = factories.ClientFactory()
    for age, request_id in ((timedelta(hours=1), "orphan"), (timedelta(0), "in-flight")):
        CreditHold.objects.create(
            client=client,
            request_id=request_id,
            method="currency.latest_rates",
            amount=Decimal("12.3400"),
            created_at=timezone.now() - age,
        )

    text = panel(page(admin_client))

    # (the release runs' page is a superuser's: neither role may view it, apps/ledger/roles.py)
    assert "Dangling credit holds: 1 older than 15 min, the oldest taken" in text
    assert f'<a href="{reverse("admin:ledger_holdreleaserun_changelist")}">release runs</a>' in text
    assert "ledger_check --release-dangling" in text
    assert "12.34" not in text


def test_a_5xx_burst_in_the_ledger_shows_the_rate(finance, fixer_only):
    # given 16 calls in the last 15 minutes, 4 answered 5xx, and an older 5xx outside it
    client = factories.ClientFactory()
    for status in [200] * 12 + [502, 503, 503, 504]:
        call_row(client, status)
    call_row(client, 500, created_at=timezone.now() - timedelta(minutes=20))

    text = panel(page(finance))

    assert "5xx rate, last 15 min: 25.0% (4 of the 16 calls)." in text
    assert ">these calls</a>" in text
    link = re.search(r'<a href="([^"]+)">these calls</a>', text)
    assert link is not None
    listing = finance.get(link.group(1))
    assert listing.status_code == 200
    assert listing.content.decode().count("req-") >= 4


def test_ops_see_the_panel_without_finance_rights_and_without_finance_links(ops, fixer_only):
    # given a 5xx burst (finance's ledger, which ops cannot open) and a dangling hold
    client = factories.ClientFactory()
    for status in (200, 503):
        call_row(client, status)
    CreditHold.objects.create(
        client=client,
        request_id="orphan",
        method="currency.latest_rates",
        amount=Decimal("1.0000"),
        created_at=timezone.now() - timedelta(hours=2),
    )

    text = panel(page(ops))

    assert "5xx rate, last 15 min: 50.0% (1 of the 2 calls)." in text
    assert "Dangling credit holds: 1 older than" in text
    assert reverse("admin:ledger_ledgerentry_changelist") not in text
    # the runs that release dangling holds are ops' to open (no rows, no money)
    assert reverse("admin:ledger_holdreleaserun_changelist") in text


def test_staff_without_a_role_and_users_without_staff_rights_see_nothing(client, fixer_only):
    offering_breaker_force(offering_ids=[rates_offering().pk], mode=breakers.FORCE_OPEN)

    # a staff user in no group: the index, no panel
    client.force_login(staff_user("intern"))
    assert 'id="control-room"' not in page(client)

    # a user without staff rights: the login page, no panel
    former = staff_user("former", "ops")
    former.is_staff = False
    former.save()
    client.force_login(former)
    response = client.get(INDEX)
    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert "Breaker" not in client.get(response["Location"]).content.decode()


INDEX_QUERIES = 5  # the session, the user, their permissions (2), the recent actions


def test_the_panel_is_read_once_for_a_refresh_storm(ops, fixer_only, django_assert_max_num_queries):
    # the first view reads the panel: the offerings, then the holds and the 5xx rate, each in
    # a savepoint under the statement timeout
    with django_assert_max_num_queries(INDEX_QUERIES + 11):
        page(ops)

    # a refresh within CACHE_S reads nothing for the panel: the index's own queries only
    with django_assert_max_num_queries(INDEX_QUERIES):
        page(ops)


def test_a_database_reading_that_takes_too_long_is_unknown_and_spoils_no_other(
    ops, fixer_only, monkeypatch
):
    # given the ledger's reading would take 3 s (a ledger under heavy load)
    def slow_ledger() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(3)")

    monkeypatch.setattr(control_room, "_error_rate", slow_ledger)
    offering_breaker_force(offering_ids=[rates_offering().pk], mode=breakers.FORCE_OPEN)

    # when
    started = time.monotonic()
    text = panel(page(ops))
    took = time.monotonic() - started

    # then PostgreSQL stopped it at the bound; the other readings stand
    assert (
        "5xx rate, last 15 min: unknown, reading the ledger's recent calls took too long." in text
    )
    assert "Breaker forced open by ops (drained): fixer · currency.latest_rates" in text
    assert took < 2.0  # 300 ms and the page on a busy machine; not the 3 s
