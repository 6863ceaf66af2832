"""Who may do what: the `ops` and `finance` groups, anonymous callers and client keys, over
the finance API and the admin."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import reverse
from knox.models import AuthToken

from apps.catalog.models import Provider, RoutingPolicy
from tests import factories
from tests.factories import staff_user

pytestmark = pytest.mark.django_db

LEDGER_APIS = ["/api/v1/ledger/", "/api/v1/ledger/summary/", "/api/v1/ledger/export.csv"]


def test_the_groups_hold_exactly_their_permissions():
    # when
    def codes(name: str) -> set[str]:
        group = Group.objects.get(name=name)
        return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}

    # then
    assert codes("finance") == {
        "ledger.view_ledgerentry",
        "ledger.book_ledgerentry",
        "ledger.view_holdreleaserun",
        "accounts.view_client",
        "billing.view_plan",
        "billing.view_price",
        "billing.view_countryprice",
        "billing.view_clientprice",
    }
    ops = codes("ops")
    assert {
        "catalog.change_routingpolicy",
        "catalog.change_offering",
        "billing.change_price",
    } <= ops
    # Of the ledger, ops see only the runs that release dangling holds: no rows, no money.
    assert {code for code in ops if code.startswith("ledger.")} == {"ledger.view_holdreleaserun"}
    assert "accounts.change_client" not in ops


def _as(who: str, api: HttpClient) -> dict[str, str]:
    """Log `api` in as `who`; returns the headers its requests need."""
    if who == "anonymous":
        return {}
    if who == "client key":
        key = factories.api_key_for(factories.ClientFactory())
        return {"HTTP_AUTHORIZATION": f"Api-Key {key}"}
    if who == "finance token":
        _, token = AuthToken.objects.create(user=staff_user("fin-token", "finance"))
        return {"HTTP_AUTHORIZATION": f"Token {token}"}
    if who == "superuser":
        user = staff_user("root")
        user.is_superuser = True
        user.save()
        api.force_login(user)
        return {}
    if who == "finance without staff":
        user = staff_user("former", "finance")
        user.is_staff = False
        user.save()
        api.force_login(user)
        return {}
    api.force_login(staff_user(who, who))
    return {}


@pytest.mark.parametrize(
    ("who", "ledger", "usage"),
    [
        ("anonymous", 401, 401),
        ("client key", 403, 200),
        ("ops", 403, 401),
        ("finance", 200, 401),
        ("finance token", 200, 401),
        ("finance without staff", 403, 401),
        ("superuser", 200, 401),
    ],
)
def test_the_finance_api_answers_finance_and_usage_answers_client_keys(api, who, ledger, usage):
    # given
    headers = _as(who, api)

    # when
    statuses = [api.get(url, **headers).status_code for url in LEDGER_APIS]
    usage_status = api.get("/api/v1/usage/", **headers).status_code

    # then
    assert statuses == [ledger] * len(LEDGER_APIS)
    assert usage_status == usage


ADMIN_PAGES = {
    "ledger": reverse("admin:ledger_ledgerentry_changelist"),
    "dashboard": reverse("admin:ledger_dashboard"),
    "routing": reverse("admin:catalog_routingpolicy_changelist"),
    "offerings": reverse("admin:catalog_offering_changelist"),
    "prices": reverse("admin:billing_price_changelist"),
    "hold runs": reverse("admin:ledger_holdreleaserun_changelist"),
}


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("ops", {"routing", "offerings", "prices", "hold runs"}),
        ("finance", {"ledger", "dashboard", "prices", "hold runs"}),
    ],
)
def test_each_role_reaches_its_admin_pages_only(api, who, allowed):
    # given
    _as(who, api)

    # when
    statuses = {name: api.get(url).status_code for name, url in ADMIN_PAGES.items()}

    # then
    assert statuses == {name: 200 if name in allowed else 403 for name in ADMIN_PAGES}


def test_anonymous_users_are_sent_to_the_admin_login(api):
    response = api.get(ADMIN_PAGES["dashboard"])

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_finance_cannot_change_routing(api):
    # given
    policy, _ = RoutingPolicy.objects.update_or_create(
        method=factories.method("currency.latest_rates"), defaults={"strategy": "priority"}
    )
    _as("finance", api)

    # when
    url = reverse("admin:catalog_routingpolicy_change", args=[policy.pk])
    response = api.post(url, {"strategy": "cheapest", "max_attempts": 3, "deadline_ms": 5000})

    # then
    assert response.status_code == 403
    assert RoutingPolicy.objects.get(pk=policy.pk).strategy == "priority"


def test_ops_never_see_a_secret_in_clear(api):
    # given
    provider = Provider.objects.get(slug="fixer")
    provider.credentials = {"access_key": "s3cret-fixer-key"}
    provider.save()
    _as("ops", api)

    # when
    pages = [
        api.get(reverse("admin:catalog_provider_change", args=[provider.pk])),
        api.get(reverse("admin:catalog_provider_changelist")),
        api.get(reverse("admin:catalog_provider_history", args=[provider.pk])),
    ]

    # then
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert all(b"s3cret-fixer-key" not in page.content for page in pages)
    assert b"access_key" in pages[0].content  # ops see which credentials are set


def test_ops_can_change_an_offering_cost(api):
    # given
    offering = factories.OfferingFactory(method=factories.method("currency.convert"))
    _as("ops", api)

    # when
    response = api.post(
        reverse("admin:catalog_offering_change", args=[offering.pk]),
        {
            "enabled": "on",
            "priority": 5,
            "weight": 2,
            "cost": "0.0042",
            "country_costs-TOTAL_FORMS": 0,
            "country_costs-INITIAL_FORMS": 0,
        },
    )

    # then
    assert response.status_code == 302
    offering.refresh_from_db()
    assert (offering.priority, offering.cost) == (5, Decimal("0.0042"))
