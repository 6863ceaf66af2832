"""The admin's "Probe now", pressed in a running ASGI server.

Under ASGI a sync admin view runs in a worker thread, and the health check it starts runs on
the server's own event loop, whose Redis client every call in flight shares. The check must
leave that client alone (a Celery task, on a loop of its own, closes its own).
"""

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.urls import reverse

from apps.catalog.models import Provider
from apps.core import state


@pytest.mark.django_db(transaction=True)
async def test_probe_now_leaves_the_servers_redis_client_to_the_calls(async_client, admin_user):
    # given the server's event loop has the Redis client its calls share
    shared = state.async_client()
    assert await shared.ping()
    await async_client.aforce_login(admin_user)
    sandbox = await Provider.objects.aget(slug="sandbox")

    # when ops press "Probe now" (through the ASGI handler, on this loop)
    response = await async_client.post(
        reverse("admin:catalog_provider_changelist"),
        {"action": "probe_now", "_selected_action": [sandbox.pk]},
    )

    # then the check ran, and the calls' client is still the one in use
    assert response.status_code == 302
    assert state.async_client() is shared
    assert await shared.ping()

    # (the view's thread gives its database connection back, as a request's end would)
    await sync_to_async(connections.close_all)()
