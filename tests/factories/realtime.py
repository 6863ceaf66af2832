"""Background calls (answered 202 and run by a worker)."""

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.realtime.models import AsyncCall
from tests.factories.accounts import ClientFactory


class AsyncCallFactory(DjangoModelFactory[AsyncCall]):
    """A background call as admission records it: pending, its payload as sent."""

    class Meta:
        model = AsyncCall

    request_id = factory.Sequence(lambda n: f"req-async-{n + 1:06d}")
    client = factory.SubFactory(ClientFactory)
    channel = "async"
    service = "currency"
    method = "latest_rates"
    body = "{}"
    price = Decimal("0.0100")
    status = AsyncCall.Status.PENDING
