"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from apps.core.deployment import warn_at_startup  # noqa: E402
from apps.gateway.asgi_calls import CallEndpoint  # noqa: E402
from apps.gateway.lifespan import lifespan  # noqa: E402
from apps.gateway.websocket import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Calls are served without Django's request stack; everything else goes to Django.
        "http": CallEndpoint(django_asgi_app),
        # WS /ws/requests/{id}/ (a browser's Origin must be one of ALLOWED_HOSTS).
        "websocket": websocket_application(),
        # At shutdown a worker closes its database, HTTP and Redis connections.
        "lifespan": lifespan,
    }
)

warn_at_startup()

# Everything loaded so far (Django, the apps, the registry) lives as long as the process:
# freeze it out of the garbage collector, so that collections during calls only walk what
# calls allocate (shorter pauses, less CPU).
gc.collect()
gc.freeze()
