"""The calls websocket (WS /ws/calls/) of the real ASGI application."""

from channels.testing import WebsocketCommunicator

from gateway_project.asgi import application


def socket_for(key: str) -> WebsocketCommunicator:
    """A websocket to /ws/calls/ that authenticates with API key `key` (connect() opens it)."""
    return WebsocketCommunicator(
        application, "/ws/calls/", headers=[(b"authorization", f"Api-Key {key}".encode())]
    )
