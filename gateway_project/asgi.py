"""ASGI entry point: HTTP (Django) and websockets (Channels) in one application."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway_project.settings")

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from apps.realtime.routing import websocket_application  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # WS /ws/requests/{id}/ (a browser's Origin must be one of ALLOWED_HOSTS).
        "websocket": websocket_application(),
    }
)
