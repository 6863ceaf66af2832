"""The catalog admin: every page renders, credentials are write-only, bulk edits stick."""

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.models import Model
from django.test import Client as HttpClient
from django.urls import reverse

from apps.catalog.models import Method, Offering, Provider, RoutingPolicy, Service
from apps.catalog.providers import ProviderAdapter
from apps.catalog.registry import registry
from apps.core.fields import UnreadableSecrets
from apps.routing.admin import offerings as offerings_admin
from apps.routing.admin import providers as providers_admin
from tests import factories
from tests.support.adapters import VendorRates
from tests.support.admin import (
    admin_form_data,
    change_url,
    changelist_url,
    provider_form_data,
    unreadable_ciphertext,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-access-key-value"


@pytest.fixture
def vendor_adapter(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ProviderAdapter]]:
    monkeypatch.setitem(registry.adapters, VendorRates.key, VendorRates)
    yield VendorRates


@pytest.fixture
def vendor(vendor_adapter: type[ProviderAdapter]) -> Provider:
    return factories.ProviderFactory(
        slug="vendor", adapter=VendorRates.key, base_url="https://vendor.test/api"
    )


@pytest.fixture
def invalidations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records the catalog cache drops of admin bulk actions (signals cover single saves)."""
    calls: list[str] = []
    for pages in (providers_admin, offerings_admin):
        monkeypatch.setattr(pages, "catalog_cache_invalidate", lambda: calls.append("catalog"))
    return calls


# --- every page -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [Service, Method, Provider, Offering, RoutingPolicy])
def test_changelist_and_change_pages_render(admin_client: HttpClient, model: type[Model]) -> None:
    # given: the catalog rows synced from the registry at migrate time
    factories.OfferingCountryCostFactory(offering__method=factories.method("currency.latest_rates"))
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None

    # when
    listing = admin_client.get(changelist_url(model))
    detail = admin_client.get(change_url(obj))

    # then
    assert listing.status_code == 200
    assert detail.status_code == 200


@pytest.mark.parametrize("model", [Service, Method, Provider, Offering, RoutingPolicy])
def test_change_form_saves_as_rendered(admin_client: HttpClient, model: type[Model]) -> None:
    # given: a row with every kind of inline filled
    factories.OfferingCountryCostFactory(offering__method=factories.method("currency.latest_rates"))
    obj = model._default_manager.order_by("pk").first()
    page = admin_client.get(change_url(obj))

    # when
    response = admin_client.post(change_url(obj), admin_form_data(page))

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors


def test_method_page_edits_its_routing_policy(admin_client: HttpClient) -> None:
    # given
    method = factories.method("currency.latest_rates")
    page = admin_client.get(change_url(method))
    data = admin_form_data(page)
    data.update({"routing-0-max_attempts": "5", "routing-0-deadline_ms": "7000"})
    data.pop("enabled")

    # when
    response = admin_client.post(change_url(method), data)

    # then
    assert response.status_code == 302
    method = Method.objects.select_related("routing").get(pk=method.pk)
    assert method.enabled is False
    assert (method.routing.max_attempts, method.routing.deadline_ms) == (5, 7000)


@pytest.mark.parametrize("model", [Provider, Offering, RoutingPolicy])
def test_add_pages_render(admin_client: HttpClient, model: type[Model]) -> None:
    # when
    response = admin_client.get(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    )

    # then
    assert response.status_code == 200


@pytest.mark.parametrize("model", [Service, Method])
def test_code_defined_rows_cannot_be_added_by_hand(
    admin_client: HttpClient, model: type[Model]
) -> None:
    # when
    response = admin_client.get(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    )

    # then
    assert response.status_code == 403


def test_provider_change_page_renders_credential_inputs_of_its_adapter(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # when
    response = admin_client.get(change_url(vendor))

    # then
    html = response.content.decode()
    assert 'name="credential__access_key"' in html
    assert 'name="credential__secret_key"' in html
    assert 'name="clear_credentials"' in html


# --- credentials ----------------------------------------------------------------------------


def test_saving_credentials_stores_them_and_the_page_never_shows_them(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    data = provider_form_data(
        vendor, credential__access_key=SECRET, credential__secret_key="other-secret"
    )

    # when
    response = admin_client.post(change_url(vendor), data)
    page = admin_client.get(change_url(vendor))
    listing = admin_client.get(changelist_url(Provider))

    # then
    assert response.status_code == 302
    assert Provider.objects.get(pk=vendor.pk).credentials == {
        "access_key": SECRET,
        "secret_key": "other-secret",
    }
    for html in (page.content.decode(), listing.content.decode()):
        assert SECRET not in html
        assert "other-secret" not in html
    assert "set: access_key, secret_key" in listing.content.decode()


def test_blank_credential_input_keeps_the_stored_value(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    vendor.credentials = {"access_key": SECRET, "secret_key": "kept"}
    vendor.save()
    data = provider_form_data(
        vendor, credential__access_key="", credential__secret_key="new", timeout_ms=3000
    )

    # when
    response = admin_client.post(change_url(vendor), data)

    # then
    assert response.status_code == 302
    vendor = Provider.objects.get(pk=vendor.pk)
    assert vendor.credentials == {"access_key": SECRET, "secret_key": "new"}
    assert vendor.timeout_ms == 3000


def test_clear_checkbox_drops_every_stored_credential(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given
    vendor.credentials = {"access_key": SECRET, "secret_key": "gone"}
    vendor.save()

    # when
    response = admin_client.post(
        change_url(vendor), provider_form_data(vendor, clear_credentials="on")
    )

    # then
    assert response.status_code == 302
    assert Provider.objects.get(pk=vendor.pk).credentials == {}


def test_credentials_column_names_missing_keys(admin_client: HttpClient, vendor: Provider) -> None:
    # given
    vendor.credentials = {"access_key": SECRET}
    vendor.save()

    # when
    html = admin_client.get(changelist_url(Provider)).content.decode()

    # then
    assert "set: access_key" in html
    assert "missing: secret_key" in html
    assert SECRET not in html


def test_unreadable_credentials_are_flagged_and_survive_an_unrelated_save(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given: secrets encrypted with a key this process no longer has
    ciphertext = unreadable_ciphertext()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE catalog_provider SET credentials = %s WHERE id = %s", [ciphertext, vendor.pk]
        )

    # when
    listing = admin_client.get(changelist_url(Provider)).content.decode()
    response = admin_client.post(change_url(vendor), provider_form_data(vendor, timeout_ms=4000))

    # then
    assert "unreadable — key rotated?" in listing
    assert response.status_code == 302
    assert isinstance(Provider.objects.get(pk=vendor.pk).credentials, UnreadableSecrets)
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM catalog_provider WHERE id = %s", [vendor.pk])
        assert cursor.fetchone()[0] == ciphertext


def test_provider_whose_adapter_left_the_registry_is_flagged(admin_client: HttpClient) -> None:
    # given
    factories.ProviderFactory(slug="ghost", adapter="currency.removed")

    # when
    html = admin_client.get(changelist_url(Provider)).content.decode()

    # then
    assert "adapter currency.removed missing from the registry" in html


def test_adding_a_provider_offers_registered_adapters_only(admin_client: HttpClient) -> None:
    # given
    data = {
        "slug": "sandbox-2",
        "name": "Second sandbox",
        "adapter": "currency.nonexistent",
        "base_url": "sandbox://rates",
        "timeout_ms": 500,
        "_save": "Save",
    }

    # when
    refused = admin_client.post(reverse("admin:catalog_provider_add"), data)
    accepted = admin_client.post(
        reverse("admin:catalog_provider_add"), {**data, "adapter": "currency.sandbox"}
    )

    # then
    assert refused.status_code == 200
    assert "adapter" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    assert Provider.objects.get(slug="sandbox-2").adapter == "currency.sandbox"


def test_adding_a_provider_leads_on_to_its_credentials(
    admin_client: HttpClient, vendor_adapter: type[ProviderAdapter]
) -> None:
    # given
    data = {
        "slug": "vendor-eu",
        "name": "Vendor EU account",
        "adapter": VendorRates.key,
        "base_url": "https://eu.vendor.test/api",
        "timeout_ms": 1500,
        "_save": "Save",
    }

    # when
    response = admin_client.post(reverse("admin:catalog_provider_add"), data)

    # then
    provider = Provider.objects.get(slug="vendor-eu")
    assert response.status_code == 302
    assert response["Location"] == change_url(provider)
    assert provider.credentials == {}


def test_bulk_disable_and_enable_providers(
    admin_client: HttpClient, vendor: Provider, invalidations: list[str]
) -> None:

    # when
    admin_client.post(
        changelist_url(Provider),
        {"action": "disable_providers", "_selected_action": [vendor.pk]},
    )
    disabled = Provider.objects.get(pk=vendor.pk).enabled
    response = admin_client.post(
        changelist_url(Provider),
        {"action": "enable_providers", "_selected_action": [vendor.pk]},
        follow=True,
    )

    # then
    assert disabled is False
    assert Provider.objects.get(pk=vendor.pk).enabled is True
    assert invalidations == ["catalog", "catalog"]
    assert "vendor" in " ".join(str(m) for m in response.context["messages"])


# --- offerings ------------------------------------------------------------------------------


def test_list_editable_priority_change_is_saved(admin_client: HttpClient) -> None:
    # given
    offering = factories.OfferingFactory(
        method=factories.method("currency.latest_rates"), priority=10
    )
    url = changelist_url(Offering) + f"?provider__id__exact={offering.provider_id}"
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(offering.pk),
        "form-0-priority": "3",
        "form-0-weight": "7",
        "form-0-enabled": "on",
        "form-0-cost": "0.0020",
        "_save": "Save",
    }

    # when
    response = admin_client.post(url, data)

    # then
    assert response.status_code == 302
    offering.refresh_from_db()
    assert (offering.priority, offering.weight, offering.cost) == (3, 7, Decimal("0.0020"))


def test_bulk_disable_action_disables_offerings(
    admin_client: HttpClient, invalidations: list[str]
) -> None:
    # given
    offerings = list(Offering.objects.filter(enabled=True)[:2])
    assert len(offerings) == 2

    # when
    admin_client.post(
        changelist_url(Offering),
        {"action": "disable_offerings", "_selected_action": [o.pk for o in offerings]},
    )

    # then
    assert not Offering.objects.filter(pk__in=[o.pk for o in offerings], enabled=True).exists()
    assert invalidations == ["catalog"]  # update() sends no post_save


def test_offering_for_a_method_the_adapter_lacks_is_refused(
    admin_client: HttpClient, vendor: Provider
) -> None:
    # given: the test vendor implements latest_rates only
    convert = factories.method("currency.convert")
    data = {
        "provider": vendor.pk,
        "method": convert.pk,
        "enabled": "on",
        "priority": 10,
        "weight": 1,
        "cost": "0.0010",
        "country_costs-TOTAL_FORMS": "0",
        "country_costs-INITIAL_FORMS": "0",
        "country_costs-MIN_NUM_FORMS": "0",
        "country_costs-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }

    # when
    refused = admin_client.post(reverse("admin:catalog_offering_add"), data)
    accepted = admin_client.post(
        reverse("admin:catalog_offering_add"),
        {**data, "method": factories.method("currency.latest_rates").pk},
    )

    # then
    assert refused.status_code == 200
    assert "does not implement currency.convert" in refused.content.decode()
    assert accepted.status_code == 302
    assert Offering.objects.filter(provider=vendor).count() == 1


def test_offering_changelist_filtered_by_method(admin_client: HttpClient) -> None:
    # given
    method = factories.method("currency.convert")

    # when
    response = admin_client.get(changelist_url(Offering) + f"?method__id__exact={method.pk}")

    # then
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown
    assert {o.method_id for o in shown} == {method.pk}


# --- routing policies -----------------------------------------------------------------------


def test_routing_policy_strategy_must_be_registered(admin_client: HttpClient) -> None:
    # given
    policy = RoutingPolicy.objects.select_related("method").first()
    assert policy is not None
    data = {
        "strategy": "no-such-strategy",
        "max_attempts": 2,
        "deadline_ms": 5000,
        "cache_ttl_s": "",
        "_save": "Save",
    }

    # when
    refused = admin_client.post(change_url(policy), data)
    accepted = admin_client.post(change_url(policy), {**data, "strategy": "priority"})

    # then
    assert refused.status_code == 200
    assert "strategy" in refused.context["adminform"].form.errors
    assert accepted.status_code == 302
    policy.refresh_from_db()
    assert (policy.strategy, policy.failover, policy.max_attempts) == ("priority", False, 2)


def test_registered_models() -> None:
    # then: the ops pages exist for every catalog model but country costs (inline only)
    for model in (Service, Method, Provider, Offering, RoutingPolicy):
        assert admin.site.is_registered(model)


def test_view_only_staff_see_credential_status_but_no_inputs(
    client: HttpClient, django_user_model: Any, vendor: Provider
) -> None:
    # given: a staff user who may only view providers
    vendor.credentials = {"access_key": SECRET}
    vendor.save()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_provider"))
    client.force_login(viewer)

    # when
    response = client.get(change_url(vendor))

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "missing: secret_key" in html
    assert 'name="credential__access_key"' not in html
    assert SECRET not in html


def test_an_optional_credential_is_not_reported_missing(admin_client):
    from apps.catalog.models import Provider
    from apps.routing.admin.providers import credentials_status

    # given sendgrid with its sending key but without the (optional) webhook key
    provider = Provider.objects.get(adapter="email.sendgrid")
    provider.credentials = {"api_key": "SG.k"}
    provider.save()

    # when / then
    status = credentials_status(provider)
    assert "set: api_key" in status
    assert "missing" not in status
    assert "not set (optional): webhook_public_key" in status
