"""Providers, their offerings and the methods synced from the registry."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.catalog.models import Method, Offering, OfferingCountryCost, Provider


class ProviderFactory(DjangoModelFactory[Provider]):
    class Meta:
        model = Provider

    slug = factory.Sequence(lambda n: f"provider-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())
    adapter = "currency.sandbox"
    base_url = "sandbox://rates"
    timeout_ms = 1000
    enabled = True


class OfferingFactory(DjangoModelFactory[Offering]):
    class Meta:
        model = Offering

    provider = factory.SubFactory(ProviderFactory)
    priority = 10
    weight = 1
    cost = Decimal("0.0010")


class OfferingCountryCostFactory(DjangoModelFactory[OfferingCountryCost]):
    class Meta:
        model = OfferingCountryCost

    offering = factory.SubFactory(OfferingFactory)
    country = "DE"
    cost = Decimal("0.0005")


def method(key: str) -> Method:
    """A method row synced from the registry, e.g. method("currency.latest_rates")."""
    service, _, slug = key.partition(".")
    return Method.objects.select_related("service").get(service__slug=service, slug=slug)
