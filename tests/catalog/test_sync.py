"""The registry → ORM sync keeps what ops tuned."""

from decimal import Decimal

import pytest

from apps.catalog.models import Method, Offering, Provider, RoutingPolicy, Service
from apps.catalog.registry import registry
from apps.catalog.sync import catalog_sync

pytestmark = pytest.mark.django_db


def test_migrate_creates_a_row_for_everything_in_the_registry():
    # then every service, method and adapter of the code registry has its row
    for definition in registry.services.values():
        service = Service.objects.get(slug=definition.slug)
        for spec in definition.methods.values():
            method = Method.objects.get(service=service, slug=spec.name)
            assert method.idempotent == spec.idempotent
            assert method.cacheable == spec.cacheable
            assert RoutingPolicy.objects.filter(method=method).exists()
    for adapter in registry.adapters.values():
        provider = Provider.objects.get(adapter=adapter.key)
        assert provider.enabled is False, "new adapters arrive switched off"
        assert set(provider.offerings.values_list("method__slug", flat=True)) == set(
            adapter.provided_methods
        )


def test_a_second_sync_keeps_what_ops_tuned():
    # given ops tuned a provider, an offering and a policy
    provider = Provider.objects.get(slug="sandbox")
    provider.enabled, provider.timeout_ms, provider.base_url = True, 900, "sandbox://tuned"
    provider.save()
    offering = Offering.objects.filter(provider=provider).first()
    offering.priority, offering.weight, offering.cost = 7, 5, Decimal("0.0042")
    offering.save()
    policy = RoutingPolicy.objects.get(method=offering.method)
    policy.max_attempts, policy.deadline_ms = 2, 1500
    policy.save()

    # when the registry is synced again (as after every migrate)
    created = catalog_sync()

    # then nothing was created and nothing tuned was overwritten
    assert created == {"services": 0, "methods": 0, "providers": 0, "offerings": 0}
    provider.refresh_from_db()
    offering.refresh_from_db()
    policy.refresh_from_db()
    assert (provider.enabled, provider.timeout_ms, provider.base_url) == (
        True,
        900,
        "sandbox://tuned",
    )
    assert (offering.priority, offering.weight, offering.cost) == (7, 5, Decimal("0.0042"))
    assert (policy.max_attempts, policy.deadline_ms) == (2, 1500)


def test_sync_restores_code_owned_fields_but_not_the_enabled_flag():
    # given someone edited what code owns, and disabled the method
    method = Method.objects.get(service__slug="currency", slug="latest_rates")
    Method.objects.filter(pk=method.pk).update(name="renamed", cacheable=False, enabled=False)

    # when
    catalog_sync()

    # then the code's name and flags are back, ops' enabled flag is kept
    method.refresh_from_db()
    assert method.name == registry.method("currency.latest_rates").summary
    assert method.cacheable is True
    assert method.enabled is False


def test_a_renamed_provider_keeps_its_adapter_and_is_not_duplicated():
    # given ops renamed the synced provider row
    Provider.objects.filter(slug="sandbox").update(slug="offline-rates")

    # when
    catalog_sync()

    # then the adapter keeps one provider, under its new name
    assert list(
        Provider.objects.filter(adapter="currency.sandbox").values_list("slug", flat=True)
    ) == ["offline-rates"]
