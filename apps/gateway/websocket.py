"""WS /ws/calls/: calls made over a websocket (ledger channel `ws`).

The socket is authenticated once, on the handshake, by the client's API key in a header
(Authorization: Api-Key ..., X-API-Key) or an internal Bearer JWT; a socket without valid
credentials is refused before it opens. Each message it then sends is one call through the
same pipeline as an HTTP call (same routing, charge and ledger row):

    -> {"service": "currency", "method": "latest_rates", "payload": {...},
        "request_id": "optional", "idempotency_key": "optional"}
    <- {"http_status": 200, "request_id": ..., "status": "succeeded", "data": {...},
        "provider": "fixer", "price": "0.0100"}
       or the problem+json body of an error, with its "http_status"

Answers come in the order the calls were sent; calls on one socket run one at a time.

The websocket routes of the server are listed here too: this one, and apps.realtime's
WS /ws/requests/{id}/ (a background call's result), behind realtime's origin check.
"""

from __future__ import annotations

import json
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from django.conf import settings
from django.urls import path
from django.utils.datastructures import CaseInsensitiveMapping

from apps.accounts.authentication import authenticate_headers
from apps.core import jsonbytes
from apps.core.errors import GatewayError, InvalidRequest, PayloadTooLarge
from apps.core.jsonbytes import JSONTooDeep
from apps.core.log_context import call_logged
from apps.core.middleware import request_id_for
from apps.core.problems import problem_body
from apps.gateway.pipeline import handle_call
from apps.gateway.stages import GatewayRequest
from apps.ledger.models import LedgerEntry
from apps.realtime import routing as realtime_routing

CLOSE_UNSUPPORTED = 1003


class CallConsumer(AsyncJsonWebsocketConsumer):
    headers: CaseInsensitiveMapping[str]

    async def connect(self) -> None:
        self.headers = CaseInsensitiveMapping(
            {k.decode("latin-1"): v.decode("latin-1") for k, v in self.scope["headers"]}
        )
        try:
            await authenticate_headers(self.headers)
        except GatewayError:
            await self.close()  # before accept: the handshake is refused (HTTP 403)
            return
        await self.accept()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data is None:
            await self.close(code=CLOSE_UNSUPPORTED)  # JSON text frames only
            return
        await self.send_json(await self.answer(text_data))

    async def answer(self, text: str) -> dict[str, Any]:
        try:
            command = _parsed(text)
        except GatewayError as refused:
            return _problem(refused, request_id_for(""))
        sent_id = command.get("request_id", "") if isinstance(command, dict) else ""
        request_id = request_id_for(sent_id if isinstance(sent_id, str) else "")
        if not isinstance(command, dict) or not all(
            isinstance(command.get(k), str) for k in ("service", "method")
        ):
            error = InvalidRequest('A call is a JSON object with "service" and "method".')
            return _problem(error, request_id)
        headers = dict(self.headers)
        key = command.get("idempotency_key")
        if isinstance(key, str):
            headers["Idempotency-Key"] = key
        client = self.scope.get("client")
        request = GatewayRequest(
            request_id=request_id,
            service=command["service"],
            method=command["method"],
            body=json.dumps(command.get("payload", {})).encode(),
            headers=CaseInsensitiveMapping(headers),
            channel=LedgerEntry.Channel.WS,
            source_ip=client[0] if client else None,
        )
        # The call's records carry its request id, and it gets one access record.
        with call_logged(request_id, channel=request.channel) as log:
            response = await handle_call(request)
            log.status = response.status
        answer = {"http_status": response.status, **response.body}
        # What an HTTP client reads in X-Provider and X-Price.
        for header, field in (("X-Provider", "provider"), ("X-Price", "price")):
            if header in response.headers:
                answer[field] = response.headers[header]
        return answer


def _parsed(text: str) -> Any:
    """The message's JSON (None if it is not JSON); a GatewayError when it is refused unread.

    The limits of an HTTP call's body hold for a message too: a refused message gets its
    answer and the socket stays open.
    """
    limit = settings.GATEWAY_MAX_BODY_BYTES
    if len(text) > limit or len(text.encode("utf-8", "surrogatepass")) > limit:
        raise PayloadTooLarge("The message is larger than the body limit.")
    try:
        return jsonbytes.loads_untrusted(text)
    except JSONTooDeep as exc:
        raise InvalidRequest(f"The message is refused: {exc}.") from exc
    except ValueError:
        return None


def _problem(error: GatewayError, request_id: str) -> dict[str, Any]:
    return {"http_status": error.status, **problem_body(error, request_id)}


websocket_urlpatterns = [
    *realtime_routing.websocket_urlpatterns,
    path("ws/calls/", CallConsumer.as_asgi()),
]


def websocket_application() -> Any:
    """The server's websockets, a browser's Origin checked (apps.realtime.routing)."""
    return realtime_routing.origin_checked(URLRouter(websocket_urlpatterns))
