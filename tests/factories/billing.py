"""Plans and their prices."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.billing.models import Plan, Price


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
