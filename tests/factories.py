"""factory-boy factories for every app's models (one module: the apps share them)."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.accounts.models import Client, ClientApiKey
from apps.billing.models import Plan, Price
from apps.catalog.models import Method, Offering, OfferingCountryCost, Provider


class PlanFactory(DjangoModelFactory[Plan]):
    class Meta:
        model = Plan
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class PriceFactory(DjangoModelFactory[Price]):
    class Meta:
        model = Price

    plan = factory.SubFactory(PlanFactory)
    price = Decimal("0.0100")


class ClientFactory(DjangoModelFactory[Client]):
    class Meta:
        model = Client

    slug = factory.Sequence(lambda n: f"client-{n}")
    name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Ltd")
    country = "DE"
    plan = factory.SubFactory(PlanFactory)
    credit_limit = Decimal("100.0000")


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


def api_key_for(client: Client, name: str = "test") -> str:
    _, key = ClientApiKey.objects.create_key(client=client, name=name)
    return key
