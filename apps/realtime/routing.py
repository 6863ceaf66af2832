"""Websocket routes, and the origin check in front of them."""

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings
from django.urls import path

from apps.realtime.calls import CallConsumer
from apps.realtime.consumers import RequestResultConsumer

websocket_urlpatterns = [
    path("ws/requests/<str:request_id>/", RequestResultConsumer.as_asgi()),
    path("ws/calls/", CallConsumer.as_asgi()),
]


class BrowserOriginValidator(OriginValidator):
    """A browser's Origin must be one of ALLOWED_HOSTS; a socket with no Origin (not from a
    browser) passes. The sockets never use cookies: a key or a token authenticates them."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or bool(self.validate_origin(parsed_origin))


def websocket_application() -> Any:
    from channels.routing import URLRouter

    hosts = ["*"] if settings.DEBUG and not settings.ALLOWED_HOSTS else settings.ALLOWED_HOSTS
    return BrowserOriginValidator(URLRouter(websocket_urlpatterns), hosts)
