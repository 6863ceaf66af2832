"""Clients, their API keys and staff users."""

from decimal import Decimal

import factory
from django.contrib.auth.models import Group, User
from factory.django import DjangoModelFactory

from apps.accounts.models import Client, ClientApiKey
from tests.factories.billing import PlanFactory


class ClientFactory(DjangoModelFactory[Client]):
    class Meta:
        model = Client

    slug = factory.Sequence(lambda n: f"client-{n}")
    name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Ltd")
    country = "DE"
    plan = factory.SubFactory(PlanFactory)
    credit_limit = Decimal("100.0000")


def api_key_for(client: Client, name: str = "test") -> str:
    """A new API key of `client`, in the clear (as the client would send it)."""
    _, key = ClientApiKey.objects.create_key(client=client, name=name)
    return key


def staff_user(username: str, *groups: str) -> User:
    """A staff user (password "pw") in the named groups, e.g. the roles the ledger's
    migration creates: staff_user("fiona", "finance")."""
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    return user
