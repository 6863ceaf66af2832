"""WS /ws/requests/{id}/: one message with a background call's final result, then close.

The socket is authenticated on the handshake, by the client's API key in a header
(Authorization: Api-Key ..., or X-API-Key) or by the short-lived token of the 202's
websocket_url. Only the client that made the call may subscribe; anyone else is refused
before the handshake completes. The consumer joins the call's group before reading the
record, so a result that lands in between is never missed; it is sent at most once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils.datastructures import CaseInsensitiveMapping

from apps.accounts.authentication import authenticate_headers
from apps.core.db import then_release_connection
from apps.core.errors import GatewayError
from apps.realtime.models import AsyncCall
from apps.realtime.tokens import websocket_token_claims

# Close codes in the private range (4000-4999) when the socket was accepted.
CLOSE_DONE = 1000


def _load(request_id: str, client_id: int) -> AsyncCall | None:
    return AsyncCall.objects.filter(request_id=request_id, client_id=client_id).first()


def _load_by_id(call_id: int) -> AsyncCall | None:
    return AsyncCall.objects.filter(pk=call_id).first()


def call_message(call: AsyncCall) -> dict[str, Any]:
    """What the socket sends: the same shape as GET /api/v1/requests/{id}/."""
    from apps.realtime.selectors import async_call_view

    return async_call_view(call)


class RequestResultConsumer(AsyncJsonWebsocketConsumer):
    call_id: int | None = None
    sent = False

    async def connect(self) -> None:
        request_id = self.scope["url_route"]["kwargs"]["request_id"]
        call = await self._authorised_call(request_id)
        if call is None:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        self.call_id = call.pk
        await self.channel_layer.group_add(call.group_name, self.channel_name)
        await self.accept()
        # Read again after joining: a result committed before the join is sent now.
        current = await sync_to_async(then_release_connection(_load_by_id))(call.pk)
        if current is not None and current.is_final:
            await self._send_result(current)

    async def _authorised_call(self, request_id: str) -> AsyncCall | None:
        headers = CaseInsensitiveMapping(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        )
        if headers.get("Authorization") or headers.get("X-API-Key"):
            try:
                principal = await authenticate_headers(headers)
            except GatewayError:
                return None
            return await sync_to_async(then_release_connection(_load))(
                request_id, principal.client_id
            )
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        token = (query.get("token") or [""])[0]
        if not token:
            return None
        claims = websocket_token_claims(token)
        if claims is None:
            return None
        call = await sync_to_async(then_release_connection(_load_by_id))(claims[0])
        if call is None or call.request_id != request_id or call.client_id != claims[1]:
            return None
        return call

    async def call_finished(self, event: dict[str, Any]) -> None:
        if self.call_id is None or event.get("call_id") != self.call_id:
            return
        call = await sync_to_async(then_release_connection(_load_by_id))(self.call_id)
        if call is not None and call.is_final:
            await self._send_result(call)

    async def _send_result(self, call: AsyncCall) -> None:
        if self.sent:
            return
        self.sent = True
        await self.send_json(await sync_to_async(call_message)(call))
        await self.close(code=CLOSE_DONE)

    async def disconnect(self, code: int) -> None:
        if self.call_id is not None:
            await self.channel_layer.group_discard(f"async-call.{self.call_id}", self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """Nothing to receive: the socket only delivers the result."""
