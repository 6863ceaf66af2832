"""Realtime's websocket route, and the origin check in front of every websocket.

The server's list of websocket routes is apps.gateway.websocket: it adds WS /ws/calls/ (calls
over a socket, through the gateway's pipeline) to this app's result socket.
"""

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from apps.realtime.consumers import RequestResultConsumer

websocket_urlpatterns = [
    path("ws/requests/<str:request_id>/", RequestResultConsumer.as_asgi()),
]


class BrowserOriginValidator(OriginValidator):
    """A browser's Origin must be one of ALLOWED_HOSTS; a socket with no Origin (not from a
    browser) passes. The sockets never use cookies: a key or a token authenticates them."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or bool(self.validate_origin(parsed_origin))


def origin_checked(application: Any) -> Any:
    """`application` behind the origin check (any Origin in DEBUG without ALLOWED_HOSTS)."""
    hosts = ["*"] if settings.DEBUG and not settings.ALLOWED_HOSTS else settings.ALLOWED_HOSTS
    return BrowserOriginValidator(application, hosts)
